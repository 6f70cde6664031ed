#include "server/objects/conditional.h"

#include <gtest/gtest.h>

#include "common/http_date.h"

namespace unicache {
namespace {

ObjectInfo Object() {
  ObjectInfo o;
  o.path = "a.bin";
  o.size = 100;
  o.version = "v1";
  o.mtime_ms = 1700000000500;  // Last-Modified states ...000 (whole seconds)
  return o;
}

const std::string kLastModified = FormatHttpDate(1700000000500);
const std::string kEarlier = FormatHttpDate(1699999999000);
const std::string kLater = FormatHttpDate(1700000001000);

Precondition Eval(Conditions c) { return EvaluatePreconditions(c, Object()); }

TEST(PreconditionsTest, NoConditionsPass) { EXPECT_EQ(Eval({}), Precondition::kPass); }

TEST(PreconditionsTest, IfMatchComparesStrongly) {
  EXPECT_EQ(Eval({.if_match = "\"v1\""}), Precondition::kPass);
  EXPECT_EQ(Eval({.if_match = "*"}), Precondition::kPass);
  EXPECT_EQ(Eval({.if_match = "\"x\", \"v1\""}), Precondition::kPass);
  EXPECT_EQ(Eval({.if_match = "W/\"v1\""}), Precondition::kFailed);
  EXPECT_EQ(Eval({.if_match = "\"v2\""}), Precondition::kFailed);
}

TEST(PreconditionsTest, IfUnmodifiedSinceOnlyWithoutIfMatch) {
  EXPECT_EQ(Eval({.if_unmodified_since = kLastModified}), Precondition::kPass);
  EXPECT_EQ(Eval({.if_unmodified_since = kLater}), Precondition::kPass);
  EXPECT_EQ(Eval({.if_unmodified_since = kEarlier}), Precondition::kFailed);
  EXPECT_EQ(Eval({.if_unmodified_since = "garbage"}), Precondition::kPass);  // ignored
  EXPECT_EQ(Eval({.if_match = "\"v1\"", .if_unmodified_since = kEarlier}), Precondition::kPass);
}

TEST(PreconditionsTest, IfNoneMatchComparesWeaklyAndAnswersNotModified) {
  EXPECT_EQ(Eval({.if_none_match = "\"v1\""}), Precondition::kNotModified);
  EXPECT_EQ(Eval({.if_none_match = "W/\"v1\""}), Precondition::kNotModified);
  EXPECT_EQ(Eval({.if_none_match = "*"}), Precondition::kNotModified);
  EXPECT_EQ(Eval({.if_none_match = "\"v0\", \"v2\""}), Precondition::kPass);
}

TEST(PreconditionsTest, IfModifiedSinceOnlyWithoutIfNoneMatch) {
  EXPECT_EQ(Eval({.if_modified_since = kLastModified}), Precondition::kNotModified);
  EXPECT_EQ(Eval({.if_modified_since = kLater}), Precondition::kNotModified);
  EXPECT_EQ(Eval({.if_modified_since = kEarlier}), Precondition::kPass);
  EXPECT_EQ(Eval({.if_modified_since = "not a date"}), Precondition::kPass);
  EXPECT_EQ(Eval({.if_none_match = "\"v2\"", .if_modified_since = kLater}), Precondition::kPass);
}

TEST(PreconditionsTest, A412WinsOverA304) {
  EXPECT_EQ(Eval({.if_match = "\"v2\"", .if_none_match = "\"v1\""}), Precondition::kFailed);
}

TEST(RangeAppliesTest, OnlyForTheSameVersion) {
  EXPECT_TRUE(RangeApplies({}, Object()));
  EXPECT_TRUE(RangeApplies({.if_range = "\"v1\""}, Object()));
  EXPECT_TRUE(RangeApplies({.if_range = kLastModified}, Object()));
  EXPECT_FALSE(RangeApplies({.if_range = "\"v0\""}, Object()));
  EXPECT_FALSE(RangeApplies({.if_range = "W/\"v1\""}, Object()));  // weak tags never match
  EXPECT_FALSE(RangeApplies({.if_range = kEarlier}, Object()));
  EXPECT_FALSE(RangeApplies({.if_range = kLater}, Object()));  // an exact match only
  EXPECT_FALSE(RangeApplies({.if_range = "garbage"}, Object()));
}

}  // namespace
}  // namespace unicache

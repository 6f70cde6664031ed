#include "server/http/request_target.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace unicache {
namespace {

RequestTarget Parse(std::string_view target) {
  Result<RequestTarget> r = ParseRequestTarget(target);
  EXPECT_TRUE(r.ok()) << target << ": " << r.status().ToString();
  return r.ok() ? *r : RequestTarget{"<error>", {}};
}

TEST(RequestTargetTest, PathOnly) {
  RequestTarget t = Parse("/v1/objects/local/a/b.bin");
  EXPECT_EQ(t.path, "/v1/objects/local/a/b.bin");
  EXPECT_TRUE(t.query.empty());
  EXPECT_EQ(Parse("/").path, "/");
}

TEST(RequestTargetTest, PathIsPercentDecoded) {
  EXPECT_EQ(Parse("/v1/objects/a/b%20c").path, "/v1/objects/a/b c");
  EXPECT_EQ(Parse("/a%2Fb").path, "/a/b");
  EXPECT_EQ(Parse("/a+b").path, "/a+b");  // '+' means space only in the query
  EXPECT_EQ(Parse("/%C3%BC").path, "/\xc3\xbc");
}

TEST(RequestTargetTest, EncodedQuestionMarkStaysInThePath) {
  RequestTarget t = Parse("/a%3Fb?c=d");
  EXPECT_EQ(t.path, "/a?b");
  EXPECT_EQ(t.query, (std::map<std::string, std::string>{{"c", "d"}}));
}

TEST(RequestTargetTest, QueryParameters) {
  RequestTarget t = Parse("/v1/list/local?prefix=a%2Fb%20c&delimiter=%2F&max-keys=10");
  EXPECT_EQ(t.path, "/v1/list/local");
  EXPECT_EQ(t.Param("prefix"), "a/b c");
  EXPECT_EQ(t.Param("delimiter"), "/");
  EXPECT_EQ(t.Param("max-keys"), "10");
  EXPECT_EQ(t.query.size(), 3u);
}

TEST(RequestTargetTest, ParamFallback) {
  RequestTarget t = Parse("/x?a=1");
  EXPECT_EQ(t.Param("b"), "");
  EXPECT_EQ(t.Param("b", "dflt"), "dflt");
  EXPECT_EQ(t.Param("a", "dflt"), "1");
}

TEST(RequestTargetTest, PlusInValueIsSpaceButEncodedPlusIsPlus) {
  RequestTarget t = Parse("/x?q=a+b&r=a%2Bb");
  EXPECT_EQ(t.Param("q"), "a b");
  EXPECT_EQ(t.Param("r"), "a+b");
}

TEST(RequestTargetTest, LastValueOfARepeatedNameWins) {
  EXPECT_EQ(Parse("/x?a=1&b=2&a=3").Param("a"), "3");
}

TEST(RequestTargetTest, EmptyPartsAndValuelessNames) {
  RequestTarget t = Parse("/x?&&flag&empty=&&k=v=w&");
  EXPECT_EQ(t.query,
            (std::map<std::string, std::string>{{"flag", ""}, {"empty", ""}, {"k", "v=w"}}));
  EXPECT_TRUE(Parse("/x?").query.empty());
  EXPECT_EQ(Parse("/x?").path, "/x");
}

TEST(RequestTargetTest, RejectsNonOriginForm) {
  for (std::string_view bad : {"", "v1/objects", "*", "http://host/x", "?a=1", " /x"}) {
    Result<RequestTarget> r = ParseRequestTarget(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "'";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(RequestTargetTest, RejectsMalformedEscapes) {
  for (std::string_view bad : {"/a%zz", "/a%", "/a%2", "/a%00b", "/x?a=%", "/x?a=%0g", "/x?a=%00",
                               "/x?%zz=1", "/x?%00=1"}) {
    Result<RequestTarget> r = ParseRequestTarget(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "'";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace unicache

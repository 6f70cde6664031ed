#include "cluster/member.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

TEST(MemberTest, ParsesHostPort) {
  auto hp = ParseHostPort("cache-0.svc:7070");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "cache-0.svc");
  EXPECT_EQ(hp->port, 7070);
  auto v6 = ParseHostPort("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(FormatHostPort("::1", 80), "[::1]:80");
  EXPECT_EQ(FormatHostPort("10.0.0.1", 80), "10.0.0.1:80");
  for (const char* bad : {"", "host", ":80", "host:", "host:0", "host:65536", "host:8x", "::1:80",
                          "[::1]", "[::1]80"}) {
    EXPECT_EQ(ParseHostPort(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(MemberTest, ViewJsonRoundTrips) {
  MemberView view{.version = 12,
                  .members = {{.id = "a", .address = "10.0.0.1:7070", .weight = 2.5, .zone = "z1"},
                              {.id = "b", .address = "[fd00::2]:7070"}}};
  std::string json = MemberViewToJson(view);
  auto back = MemberViewFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, view);
  EXPECT_EQ(json, R"({"members":[{"address":"10.0.0.1:7070","id":"a","weight":2.5,"zone":"z1"},)"
                  R"({"address":"[fd00::2]:7070","id":"b","weight":1.0,"zone":""}],"version":12})");
}

TEST(MemberTest, SlotsRoundTripAndAreChecked) {
  Member m{.id = "a", .address = "h:1", .slots = {4, 9, 2}};
  auto back = MemberFromJson(MemberToJson(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->slots, (std::vector<uint32_t>{4, 9, 2}));
  for (const char* bad :
       {R"({"id":"a","address":"h:1","slots":7})", R"({"id":"a","address":"h:1","slots":[-1]})",
        R"({"id":"a","address":"h:1","slots":[1.5]})",
        R"({"id":"a","address":"h:1","slots":[16777216]})",
        R"({"id":"a","address":"h:1","slots":[3,3]})"}) {
    EXPECT_EQ(MemberFromJson(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  m.slots.assign(kMaxMemberSlots + 1, 0);
  for (uint32_t i = 0; i < m.slots.size(); ++i) m.slots[i] = i;
  EXPECT_FALSE(ValidateMember(m).ok());
}

TEST(MemberTest, ViewJsonDefaultsAndSorts) {
  auto v = MemberViewFromJson(
      R"({"version":3,"members":[{"id":"b","address":"h:2"},{"id":"a","address":"h:1"}]})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->members.size(), 2u);
  EXPECT_EQ(v->members[0].id, "a");
  EXPECT_EQ(v->members[1].weight, 1.0);
  EXPECT_EQ(v->members[1].zone, "");
  auto empty = MemberViewFromJson(R"({"version":0,"members":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->members.empty());
}

TEST(MemberTest, ViewJsonRejectsBadInput) {
  for (const char* bad : {
           "",
           "[]",
           "{",
           R"({"members":[]})",
           R"({"version":-1,"members":[]})",
           R"({"version":1})",
           R"({"version":1,"members":[{"id":"a"}]})",
           R"({"version":1,"members":[{"id":"a","address":"h:1","weight":0}]})",
           R"({"version":1,"members":[{"id":"a","address":"h:1","weight":"1"}]})",
           R"({"version":1,"members":[{"id":"a","address":"h:1"},{"id":"a","address":"h:2"}]})",
       }) {
    EXPECT_EQ(MemberViewFromJson(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(MemberTest, MemberJsonRoundTrips) {
  Member m{.id = "n1", .address = "127.0.0.1:9000", .weight = 3, .zone = "eu"};
  auto back = MemberFromJson(MemberToJson(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
}

}  // namespace
}  // namespace unicache

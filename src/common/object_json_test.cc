#include "common/object_json.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

TEST(ObjectJsonTest, WhatANodeWritesAClientReadsBack) {
  ObjectInfo o{"dir/f \"1\".bin", 1ull << 40, "0x8DC-abc", 1700000000123};
  Result<ObjectInfo> back = ObjectInfoFromJson(ObjectInfoToJson(o), "stat");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->path, o.path);
  EXPECT_EQ(back->size, o.size);
  EXPECT_EQ(back->version, o.version);
  EXPECT_EQ(back->mtime_ms, o.mtime_ms);

  ListPage page;
  page.objects = {o, ObjectInfo{"dir/g", 0, "v", 0}};
  page.prefixes = {"dir/sub/"};
  page.next_token = "t0";
  Result<ListPage> listed = ListPageFromJson(ListPageToJson("data", "dir/", page), "list");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->objects.size(), 2u);
  EXPECT_EQ(listed->objects[1].path, "dir/g");
  EXPECT_EQ(listed->prefixes, page.prefixes);
  EXPECT_EQ(listed->next_token, "t0");
}

TEST(ObjectJsonTest, MissingOrMistypedFieldsAreErrorsNotDefaults) {
  for (const char* bad :
       {R"({"size":1,"etag":"v"})", R"({"path":"p","etag":"v"})",
        R"({"path":"p","size":"1","etag":"v"})", R"({"path":"p","size":1})", "[]", "not json"}) {
    Result<ObjectInfo> o = ObjectInfoFromJson(bad, "stat x");
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(o.status().message().find("stat x"), std::string::npos);
  }
  EXPECT_FALSE(ListPageFromJson(R"({"objects":[{"path":"p"}]})", "list").ok());
  EXPECT_FALSE(ListPageFromJson(R"({"objects":[],"prefixes":[1]})", "list").ok());
}

}  // namespace
}  // namespace unicache

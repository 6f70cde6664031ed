#include "fuse/path_map.h"

#include <gtest/gtest.h>

namespace unicache::fuse {
namespace {

TEST(PathMapTest, ParsesMountTargets) {
  Result<MountTarget> t = ParseMountTarget("data");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->origin, "data");
  EXPECT_EQ(t->root_key, "");
  t = ParseMountTarget("data/train/shards/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->origin, "data");
  EXPECT_EQ(t->root_key, "train/shards/");
  t = ParseMountTarget("data/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->root_key, "");
  EXPECT_FALSE(ParseMountTarget("").ok());
  EXPECT_FALSE(ParseMountTarget("/x").ok());
  EXPECT_FALSE(ParseMountTarget("data/../etc").ok());
}

TEST(PathMapTest, ValidatesNames) {
  EXPECT_TRUE(ValidateName("a.bin").ok());
  EXPECT_FALSE(ValidateName("").ok());
  EXPECT_FALSE(ValidateName(".").ok());
  EXPECT_FALSE(ValidateName("..").ok());
  EXPECT_FALSE(ValidateName("a/b").ok());
  EXPECT_FALSE(ValidateName(std::string(256, 'x')).ok());
}

TEST(PathMapTest, BuildsAndSplitsKeys) {
  EXPECT_EQ(ChildKey("", "a", false), "a");
  EXPECT_EQ(ChildKey("a/", "b", true), "a/b/");
  EXPECT_EQ(NameBelow("a/", "a/x.bin"), "x.bin");
  EXPECT_EQ(NameBelow("a/", "a/sub/"), "sub");
  EXPECT_EQ(NameBelow("", "top"), "top");
  EXPECT_EQ(NameBelow("a/", "a/"), "");     // the directory marker object
  EXPECT_EQ(NameBelow("a/", "b/x"), "");    // not below
  EXPECT_EQ(NameBelow("a/", "a/x/y"), "");  // not a direct child
  EXPECT_EQ(ParentKey("a/b/c"), "a/b/");
  EXPECT_EQ(ParentKey("a/b/"), "a/");
  EXPECT_EQ(ParentKey("a"), "");
}

}  // namespace
}  // namespace unicache::fuse

#include "fuse/inode_table.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace unicache::fuse {
namespace {

NodeAttr File(uint64_t size) {
  NodeAttr a;
  a.size = size;
  a.version = "v1";
  return a;
}

TEST(InodeTableTest, RootIsTheMountedPrefix) {
  InodeTable t("train/");
  std::optional<Node> root = t.Get(InodeTable::kRootIno);
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->key, "train/");
  EXPECT_TRUE(root->attr.is_dir);
  t.Forget(InodeTable::kRootIno, 100);
  EXPECT_TRUE(t.Get(InodeTable::kRootIno).has_value());
}

TEST(InodeTableTest, SameKeySameInodeUntilForgotten) {
  InodeTable t("");
  uint64_t a = t.Lookup("a.bin", File(1));
  uint64_t b = t.Lookup("b.bin", File(2));
  EXPECT_NE(a, b);
  EXPECT_NE(a, InodeTable::kRootIno);
  EXPECT_EQ(t.Lookup("a.bin", File(3)), a);  // two lookups now
  EXPECT_EQ(t.Get(a)->attr.size, 3u);
  EXPECT_EQ(t.Find("a.bin"), a);
  t.Forget(a, 1);
  EXPECT_TRUE(t.Get(a).has_value());
  t.Forget(a, 1);
  EXPECT_FALSE(t.Get(a).has_value());
  EXPECT_EQ(t.Find("a.bin"), 0u);
  // A forgotten key gets a new number: the old one is never reused.
  uint64_t again = t.Lookup("a.bin", File(1));
  EXPECT_NE(again, a);
  EXPECT_EQ(t.size(), 3u);  // root, b.bin, a.bin
}

TEST(InodeTableTest, KeepAttrWhileWritten) {
  InodeTable t("");
  uint64_t a = t.Lookup("a.bin", File(10));
  t.ExtendSize(a, 50);
  t.ExtendSize(a, 20);
  EXPECT_EQ(t.Get(a)->attr.size, 50u);
  t.Lookup("a.bin", File(10), /*keep_attr=*/true);
  EXPECT_EQ(t.Get(a)->attr.size, 50u);
  t.SetSize(a, 0);
  EXPECT_EQ(t.Get(a)->attr.size, 0u);
}

TEST(InodeTableTest, CachedVersionDecidesKeepCache) {
  InodeTable t("");
  uint64_t a = t.Lookup("a.bin", File(1));
  EXPECT_FALSE(t.SwapCachedVersion(a, "v1"));  // first open: nothing cached yet
  EXPECT_TRUE(t.SwapCachedVersion(a, "v1"));
  EXPECT_FALSE(t.SwapCachedVersion(a, "v2"));  // changed: drop the pages
  EXPECT_TRUE(t.SwapCachedVersion(a, "v2"));
}

TEST(InodeTableTest, ConcurrentLookupsAgree) {
  InodeTable t("");
  std::vector<std::thread> threads;
  std::vector<uint64_t> seen(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 1000; ++k) seen[i] = t.Lookup("shared", File(1));
    });
  }
  for (auto& th : threads) th.join();
  for (uint64_t s : seen) EXPECT_EQ(s, seen[0]);
  t.Forget(seen[0], 7999);
  EXPECT_TRUE(t.Get(seen[0]).has_value());
  t.Forget(seen[0], 1);
  EXPECT_FALSE(t.Get(seen[0]).has_value());
}

}  // namespace
}  // namespace unicache::fuse

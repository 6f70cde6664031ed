#include "fuse/dir_cache.h"

#include <gtest/gtest.h>

#include "fuse/fake_client.h"

namespace unicache::fuse {
namespace {

using std::chrono::milliseconds;

class DirCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.Put("data", "top.txt", "t");
    client_.Put("data", "train/a.bin", "aaaa");
    client_.Put("data", "train/b.bin", "bb");
    client_.Put("data", "train/sub/c.bin", "c");
    client_.Put("data", "train/", "");  // a directory marker object
  }
  Clock::time_point Now() const { return now_; }

  FakeClient client_;
  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
};

TEST_F(DirCacheTest, ListsOneLevelWithDirectoriesFromPrefixes) {
  DirCache cache(client_, "data", milliseconds(10000), milliseconds(0), [this] { return Now(); });
  auto root = cache.Get("");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  ASSERT_EQ((*root)->entries.size(), 2u);
  EXPECT_EQ((*root)->entries[0].name, "top.txt");
  EXPECT_FALSE((*root)->entries[0].is_dir);
  EXPECT_EQ((*root)->entries[1].name, "train");
  EXPECT_TRUE((*root)->entries[1].is_dir);
  auto train = cache.Get("train/");
  ASSERT_TRUE(train.ok());
  ASSERT_EQ((*train)->entries.size(), 3u);  // a.bin, b.bin, sub (not the marker)
  const DirEntry* a = (*train)->Find("a.bin");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->size, 4u);
  EXPECT_FALSE(a->version.empty());
  EXPECT_NE((*train)->Find("sub"), nullptr);
  EXPECT_EQ((*train)->Find("nope"), nullptr);
}

TEST_F(DirCacheTest, ReadsEveryPage) {
  for (int i = 0; i < 25; ++i) client_.Put("data", "many/f" + std::to_string(100 + i), "x");
  client_.page_size = 10;
  DirCache cache(client_, "data", milliseconds(10000), milliseconds(0), [this] { return Now(); });
  auto many = cache.Get("many/");
  ASSERT_TRUE(many.ok());
  EXPECT_EQ((*many)->entries.size(), 25u);
  EXPECT_EQ(cache.list_requests(), 3u);
}

TEST_F(DirCacheTest, RefetchesAfterTheTtl) {
  DirCache cache(client_, "data", milliseconds(10000), milliseconds(0), [this] { return Now(); });
  ASSERT_TRUE(cache.Get("train/").ok());
  ASSERT_TRUE(cache.Get("train/").ok());
  EXPECT_EQ(cache.list_requests(), 1u);
  client_.Put("data", "train/new.bin", "n");
  now_ += milliseconds(9999);
  auto stale = cache.Find("train/", "new.bin");
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->has_value());  // still within the TTL
  now_ += milliseconds(1);
  auto fresh = cache.Find("train/", "new.bin");
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fresh->has_value());
  EXPECT_EQ(cache.list_requests(), 2u);
}

TEST_F(DirCacheTest, ImmutableCachesForever) {
  DirCache cache(client_, "data", milliseconds::max(), milliseconds(0), [this] { return Now(); });
  ASSERT_TRUE(cache.Get("").ok());
  now_ += std::chrono::hours(24 * 365);
  ASSERT_TRUE(cache.Get("").ok());
  EXPECT_EQ(cache.list_requests(), 1u);
}

TEST_F(DirCacheTest, LocalEntriesShowUntilTheOriginListsThem) {
  DirCache cache(client_, "data", milliseconds(1000), milliseconds(0), [this] { return Now(); });
  ASSERT_TRUE(cache.Get("train/").ok());
  DirEntry d;
  d.name = "ckpt";
  d.is_dir = true;
  cache.AddLocal("train/", d);
  DirEntry f;
  f.name = "new.bin";
  cache.AddLocal("train/", f);
  auto l = cache.Get("train/");
  ASSERT_TRUE(l.ok());
  EXPECT_NE((*l)->Find("ckpt"), nullptr);
  EXPECT_NE((*l)->Find("new.bin"), nullptr);
  // After the TTL the origin is listed again; local entries are merged back in.
  now_ += milliseconds(1000);
  client_.Put("data", "train/new.bin", "12345");
  l = cache.Get("train/");
  ASSERT_TRUE(l.ok());
  ASSERT_NE((*l)->Find("new.bin"), nullptr);
  EXPECT_EQ((*l)->Find("new.bin")->size, 5u);  // the origin's data wins
  EXPECT_NE((*l)->Find("ckpt"), nullptr);
  EXPECT_TRUE(std::is_sorted((*l)->entries.begin(), (*l)->entries.end(),
                             [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; }));
}

TEST_F(DirCacheTest, ErrorsAreReturnedAndNotCached) {
  DirCache cache(client_, "data", milliseconds(1000), milliseconds(0), [this] { return Now(); });
  client_.SetFailure(Unavailable("cluster down"));
  auto l = cache.Get("");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kUnavailable);
  client_.SetFailure(Status::Ok());
  EXPECT_TRUE(cache.Get("").ok());
  DirCache unknown(client_, "nope", milliseconds(1000));
  EXPECT_EQ(unknown.Get("").status().code(), StatusCode::kNotFound);
}

TEST_F(DirCacheTest, AnOutageServesTheLastListingForTheStaleWindow) {
  DirCache cache(client_, "data", milliseconds(1000), milliseconds(5000), [this] { return Now(); });
  ASSERT_TRUE(cache.Get("train/").ok());
  now_ += milliseconds(1500);  // expired
  client_.SetFailure(Unavailable("origin unreachable"));
  auto stale = cache.Find("train/", "a.bin");
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_TRUE(stale->has_value());
  client_.SetFailure(PermissionDenied("no"));  // not an outage: the error
  EXPECT_EQ(cache.Get("train/").status().code(), StatusCode::kPermissionDenied);
  client_.SetFailure(DeadlineExceeded("slow"));
  now_ += milliseconds(5000);  // 6.5 s after the listing: past the TTL and the window
  EXPECT_EQ(cache.Get("train/").status().code(), StatusCode::kDeadlineExceeded);
  client_.SetFailure(Status::Ok());
  EXPECT_TRUE(cache.Get("train/").ok());
}

}  // namespace
}  // namespace unicache::fuse

#include "server/objects/metadata_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace unicache {
namespace {

using namespace std::chrono_literals;

ObjectInfo Info(const std::string& path, uint64_t size = 10, const std::string& version = "v1") {
  ObjectInfo i;
  i.path = path;
  i.size = size;
  i.version = version;
  i.mtime_ms = 1234;
  return i;
}

TEST(MetadataCacheTest, PutThenGet) {
  MetadataCache cache(10s, 100);
  EXPECT_FALSE(cache.Get("o", "a").has_value());
  cache.Put("o", Info("a", 42, "v7"));
  std::optional<ObjectInfo> got = cache.Get("o", "a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->path, "a");
  EXPECT_EQ(got->size, 42u);
  EXPECT_EQ(got->version, "v7");
  EXPECT_EQ(got->mtime_ms, 1234);
  EXPECT_EQ(cache.Size(), 1u);
}

TEST(MetadataCacheTest, OriginsAreSeparate) {
  MetadataCache cache(10s, 100);
  cache.Put("o1", Info("a", 1));
  cache.Put("o2", Info("a", 2));
  EXPECT_EQ(cache.Get("o1", "a")->size, 1u);
  EXPECT_EQ(cache.Get("o2", "a")->size, 2u);
  EXPECT_FALSE(cache.Get("o3", "a").has_value());
  EXPECT_FALSE(cache.Get("o1a", "").has_value());
}

TEST(MetadataCacheTest, PutReplaces) {
  MetadataCache cache(10s, 100);
  cache.Put("o", Info("a", 1, "v1"));
  cache.Put("o", Info("a", 2, "v2"));
  EXPECT_EQ(cache.Size(), 1u);
  EXPECT_EQ(cache.Get("o", "a")->version, "v2");
}

TEST(MetadataCacheTest, EntriesExpireAfterTtl) {
  MetadataCache cache(50ms, 100);
  cache.Put("o", Info("a"));
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(cache.Get("o", "a").has_value());
  EXPECT_EQ(cache.Size(), 0u);  // an expired entry is dropped when seen
  cache.Put("o", Info("a", 5));
  EXPECT_EQ(cache.Get("o", "a")->size, 5u);  // a fresh Put restarts the clock
}

TEST(MetadataCacheTest, InfiniteTtlNeverExpires) {
  // milliseconds::max() must not overflow the expiry time into the past.
  MetadataCache forever(std::chrono::milliseconds::max(), 100);
  forever.Put("o", Info("a"));
  EXPECT_TRUE(forever.Get("o", "a").has_value());
  MetadataCache very_long(std::chrono::hours(24 * 365 * 1000), 100);
  very_long.Put("o", Info("a"));
  EXPECT_TRUE(very_long.Get("o", "a").has_value());
}

TEST(MetadataCacheTest, BoundEvictsOldestFirst) {
  MetadataCache cache(10s, 3);
  for (int i = 0; i < 5; ++i) cache.Put("o", Info("p" + std::to_string(i)));
  EXPECT_EQ(cache.Size(), 3u);
  EXPECT_FALSE(cache.Get("o", "p0").has_value());
  EXPECT_FALSE(cache.Get("o", "p1").has_value());
  EXPECT_TRUE(cache.Get("o", "p2").has_value());
  EXPECT_TRUE(cache.Get("o", "p3").has_value());
  EXPECT_TRUE(cache.Get("o", "p4").has_value());
}

TEST(MetadataCacheTest, ZeroBoundKeepsOneEntry) {
  MetadataCache cache(10s, 0);
  cache.Put("o", Info("a"));
  cache.Put("o", Info("b"));
  EXPECT_EQ(cache.Size(), 1u);
  EXPECT_TRUE(cache.Get("o", "b").has_value());
}

TEST(MetadataCacheTest, Invalidate) {
  MetadataCache cache(10s, 100);
  cache.Put("o", Info("a"));
  cache.Put("o", Info("b"));
  cache.Invalidate("o", "a");
  EXPECT_FALSE(cache.Get("o", "a").has_value());
  EXPECT_TRUE(cache.Get("o", "b").has_value());
  cache.Invalidate("o", "a");      // absent: no-op
  cache.Invalidate("other", "b");  // other origin: untouched
  EXPECT_TRUE(cache.Get("o", "b").has_value());
  EXPECT_EQ(cache.Size(), 1u);
}

TEST(MetadataCacheTest, BoundHoldsUnderInvalidateChurn) {
  MetadataCache cache(10s, 4);
  for (int round = 0; round < 50; ++round) {
    std::string p = "p" + std::to_string(round);
    cache.Put("o", Info(p));
    if (round % 2 == 0) cache.Invalidate("o", p);
    EXPECT_LE(cache.Size(), 4u);
  }
  EXPECT_TRUE(cache.Get("o", "p49").has_value());
  EXPECT_FALSE(cache.Get("o", "p48").has_value());
}

TEST(MetadataCacheTest, ConcurrentUseStaysBounded) {
  MetadataCache cache(10s, 64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string p = "t" + std::to_string(t) + "/" + std::to_string(i % 100);
        cache.Put("o", Info(p, static_cast<uint64_t>(i)));
        auto got = cache.Get("o", p);
        if (got) {
          EXPECT_EQ(got->path, p);
        }
        if (i % 7 == 0) cache.Invalidate("o", p);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(cache.Size(), 64u);
}

TEST(MetadataCacheTest, ExpiredEntriesStayForTheStaleWindowOnly) {
  MetadataCache cache(30ms, 100, 200ms);
  cache.Put("o", Info("a"));
  EXPECT_TRUE(cache.GetStale("o", "a").has_value());  // fresh counts too
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(cache.Get("o", "a").has_value());      // expired...
  EXPECT_TRUE(cache.GetStale("o", "a").has_value());  // ...but within the window
  cache.Invalidate("o", "a");
  EXPECT_FALSE(cache.GetStale("o", "a").has_value());  // the origin said it changed
  cache.Put("o", Info("b"));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(cache.GetStale("o", "b").has_value());  // past the window
  MetadataCache forever(30ms, 100, std::chrono::milliseconds::max());
  forever.Put("o", Info("c"));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(forever.GetStale("o", "c").has_value());
  MetadataCache off(30ms, 100);
  off.Put("o", Info("d"));
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(off.GetStale("o", "d").has_value());
}

}  // namespace
}  // namespace unicache

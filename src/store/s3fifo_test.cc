#include "store/s3fifo.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace unicache {
namespace {

using Evicted = std::vector<std::pair<int, uint64_t>>;

std::vector<int> Keys(const Evicted& e) {
  std::vector<int> keys;
  for (const auto& [k, w] : e) keys.push_back(k);
  return keys;
}

TEST(S3FifoTest, KeepsEverythingWithinCapacity) {
  S3Fifo<int> c(100);
  Evicted ev;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(c.Insert(i, 10, &ev));
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(c.bytes(), 100u);
  EXPECT_EQ(c.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(c.Contains(i));
}

TEST(S3FifoTest, RejectsDuplicatesAndOversizedEntries) {
  S3Fifo<int> c(100);
  EXPECT_TRUE(c.Insert(1, 10, nullptr));
  EXPECT_FALSE(c.Insert(1, 10, nullptr));
  EXPECT_FALSE(c.Insert(2, 101, nullptr));
  EXPECT_TRUE(c.Insert(3, 90, nullptr));
  EXPECT_EQ(c.bytes(), 100u);
}

TEST(S3FifoTest, EvictsUnaccessedKeysInInsertionOrder) {
  S3Fifo<int> c(100);
  Evicted ev;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.Insert(i, 10, &ev));
  for (int i = 10; i < 15; ++i) ASSERT_TRUE(c.Insert(i, 10, &ev));
  EXPECT_EQ(Keys(ev), (std::vector<int>{0, 1, 2, 3, 4}));
  for (const auto& [k, w] : ev) EXPECT_EQ(w, 10u);
}

TEST(S3FifoTest, AccessedKeyMovesToMainInsteadOfBeingEvicted) {
  S3Fifo<int> c(100);
  Evicted ev;
  for (int i = 0; i < 10; ++i) c.Insert(i, 10, &ev);
  EXPECT_TRUE(c.Access(0));
  c.Insert(10, 10, &ev);
  EXPECT_EQ(Keys(ev), (std::vector<int>{1}));
  EXPECT_TRUE(c.InMain(0));
  EXPECT_FALSE(c.Access(42));
}

TEST(S3FifoTest, GhostHitIsInsertedIntoMain) {
  S3Fifo<int> c(100);
  Evicted ev;
  for (int i = 0; i < 11; ++i) c.Insert(i, 10, &ev);
  ASSERT_EQ(Keys(ev), (std::vector<int>{0}));
  EXPECT_TRUE(c.InGhost(0));
  EXPECT_FALSE(c.Contains(0));
  ev.clear();
  c.Insert(0, 10, &ev);
  EXPECT_TRUE(c.InMain(0));
  EXPECT_FALSE(c.InGhost(0));
  EXPECT_EQ(Keys(ev), (std::vector<int>{1}));
}

TEST(S3FifoTest, MainQueueGivesAccessedKeysAnotherRound) {
  S3Fifo<int> c(100);
  Evicted ev;
  for (int i = 0; i < 10; ++i) c.Insert(i, 10, &ev);
  for (int i = 0; i < 9; ++i) c.Access(i);
  c.Insert(100, 10, &ev);  // 0..8 move to main on the way, 9 is evicted
  EXPECT_EQ(Keys(ev), (std::vector<int>{9}));
  for (int i = 0; i < 9; ++i) EXPECT_TRUE(c.InMain(i)) << i;
  c.Erase(100);  // small is empty: the next evictions come from main
  c.Access(0);
  ev.clear();
  c.EvictTo(70, &ev);
  EXPECT_EQ(Keys(ev), (std::vector<int>{1, 2}));
  EXPECT_TRUE(c.Contains(0));
}

TEST(S3FifoTest, LargeEntryEvictsSeveralSmallOnes) {
  S3Fifo<int> c(100);
  Evicted ev;
  for (int i = 0; i < 10; ++i) c.Insert(i, 10, &ev);
  ASSERT_TRUE(c.Insert(99, 55, &ev));
  EXPECT_EQ(Keys(ev), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(c.bytes(), 95u);
}

TEST(S3FifoTest, ScanDoesNotEvictFrequentlyReadWorkingSet) {
  S3Fifo<int> c(1000);
  Evicted ev;
  for (int i = 0; i < 500; ++i) c.Insert(i, 1, &ev);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 500; ++i) c.Access(i);
  }
  // A one-time sequential scan ten times the cache size, with the working set still being read.
  int hits = 0, reads = 0;
  for (int k = 1000; k < 11000; ++k) {
    c.Insert(k, 1, &ev);
    if (k % 10 == 0) {
      ++reads;
      hits += c.Access(k / 10 % 500) ? 1 : 0;
    }
    ASSERT_LE(c.bytes(), 1000u);
  }
  EXPECT_EQ(hits, reads);
  for (int i = 0; i < 500; ++i) EXPECT_TRUE(c.Contains(i)) << i;
}

TEST(S3FifoTest, ScanAloneDoesNotEvictWorkingSetInMain) {
  S3Fifo<int> c(1000);
  Evicted ev;
  for (int i = 0; i < 800; ++i) c.Insert(i, 1, &ev);
  for (int i = 0; i < 800; ++i) c.Access(i);
  for (int k = 1000; k < 50000; ++k) c.Insert(k, 1, &ev);  // nothing re-read during the scan
  for (int i = 0; i < 800; ++i) EXPECT_TRUE(c.Contains(i)) << i;
}

TEST(S3FifoTest, PinnedEntriesAreSkipped) {
  S3Fifo<int> c(100);
  Evicted ev;
  for (int i = 0; i < 10; ++i) c.Insert(i, 10, &ev);
  EXPECT_TRUE(c.Pin(0));
  EXPECT_TRUE(c.Pin(0));
  EXPECT_FALSE(c.Pin(77));
  EXPECT_EQ(c.pinned_bytes(), 10u);
  for (int i = 10; i < 100; ++i) c.Insert(i, 10, &ev);
  EXPECT_TRUE(c.Contains(0));
  c.Unpin(0);
  for (int i = 100; i < 200; ++i) c.Insert(i, 10, &ev);
  EXPECT_TRUE(c.Contains(0));  // still pinned once
  c.Unpin(0);
  EXPECT_EQ(c.pinned_bytes(), 0u);
  // Unpinned, 0 sits in main, which one-time inserts never reach: only eviction from main does.
  c.EvictTo(0, &ev);
  EXPECT_FALSE(c.Contains(0));
  EXPECT_EQ(c.bytes(), 0u);
}

TEST(S3FifoTest, RefusesInsertWhenPinnedBytesLeaveNoRoom) {
  S3Fifo<int> c(100);
  for (int i = 0; i < 10; ++i) {
    c.Insert(i, 10, nullptr);
    c.Pin(i);
  }
  EXPECT_FALSE(c.Insert(10, 10, nullptr));
  EXPECT_EQ(c.bytes(), 100u);
  c.Unpin(3);
  Evicted ev;
  EXPECT_TRUE(c.Insert(10, 10, &ev));
  EXPECT_EQ(Keys(ev), (std::vector<int>{3}));
}

TEST(S3FifoTest, EraseFreesBytesAndForgetsGhost) {
  S3Fifo<int> c(100);
  Evicted ev;
  for (int i = 0; i < 11; ++i) c.Insert(i, 10, &ev);
  ASSERT_TRUE(c.InGhost(0));
  EXPECT_EQ(c.Erase(0), 0u);  // only in ghost
  EXPECT_FALSE(c.InGhost(0));
  c.Pin(5);
  EXPECT_EQ(c.Erase(5), 10u);
  EXPECT_EQ(c.pinned_bytes(), 0u);
  EXPECT_EQ(c.bytes(), 90u);
  EXPECT_EQ(c.Erase(5), 0u);
  c.Insert(0, 10, &ev);
  EXPECT_FALSE(c.InMain(0));  // a forgotten ghost is a new key
}

TEST(S3FifoTest, EvictToStopsAtTargetOrPinnedBytes) {
  S3Fifo<int> c(100);
  for (int i = 0; i < 10; ++i) c.Insert(i, 10, nullptr);
  c.Pin(9);
  Evicted ev;
  c.EvictTo(50, &ev);
  EXPECT_EQ(c.bytes(), 50u);
  c.EvictTo(0, &ev);
  EXPECT_EQ(c.bytes(), 10u);
  EXPECT_TRUE(c.Contains(9));
  EXPECT_EQ(ev.size(), 9u);
}

TEST(S3FifoTest, WorksWithStringKeys) {
  S3Fifo<std::string> c(3);
  std::vector<std::pair<std::string, uint64_t>> ev;
  c.Insert("a", 1, &ev);
  c.Insert("b", 1, &ev);
  c.Insert("c", 1, &ev);
  c.Access("a");
  c.Insert("d", 1, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].first, "b");
  EXPECT_EQ(c.Weight("a"), 1u);
}

// Random operations against a model: bytes always equal the sum of live weights, never exceed
// the capacity, and pinned keys are never evicted.
TEST(S3FifoTest, RandomOperationsKeepInvariants) {
  std::mt19937 rng(7);
  S3Fifo<int> c(10000);
  std::map<int, uint64_t> live;
  std::map<int, int> pins;
  for (int step = 0; step < 20000; ++step) {
    int key = static_cast<int>(rng() % 400);
    switch (rng() % 6) {
      case 0:
      case 1:
      case 2: {
        Evicted ev;
        uint64_t w = 1 + rng() % 300;
        if (c.Insert(key, w, &ev)) live[key] = w;
        for (const auto& [k, kw] : ev) {
          ASSERT_EQ(pins[k], 0) << "evicted pinned key " << k;
          ASSERT_EQ(live[k], kw);
          live.erase(k);
        }
        break;
      }
      case 3:
        c.Access(key);
        break;
      case 4:
        if (live.contains(key) && pins[key] < 2 && c.pinned_bytes() < 5000) {
          c.Pin(key);
          ++pins[key];
        } else if (pins[key] > 0) {
          c.Unpin(key);
          --pins[key];
        }
        break;
      case 5:
        EXPECT_EQ(c.Erase(key), live.contains(key) ? live[key] : 0);
        live.erase(key);
        pins.erase(key);
        break;
    }
    uint64_t sum = 0;
    for (const auto& [k, w] : live) sum += w;
    ASSERT_EQ(c.bytes(), sum);
    ASSERT_LE(c.bytes(), c.capacity());
    ASSERT_EQ(c.size(), live.size());
  }
}

}  // namespace
}  // namespace unicache

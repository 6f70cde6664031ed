// Many threads on one store: bytes served are always the bytes put, bounds always hold.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "store/block_file.h"
#include "store/block_store.h"
#include "store/store_test_util.h"

namespace unicache {
namespace {

using testing::SameBytes;
using testing::TempDir;
using testing::TestBlock;
using testing::TestKey;

constexpr int kThreads = 8;
constexpr int kKeys = 400;

std::vector<BlockRef> MakeBlocks() {
  std::vector<BlockRef> blocks;
  for (int i = 0; i < kKeys; ++i) blocks.push_back(TestBlock(1024 + 37 * (i % 50), i));
  return blocks;
}

TEST(BlockStoreConcurrencyTest, GetPutEraseFromEightThreads) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.path();
  o.ram_bytes = 64 << 10;   // ~40 blocks: constant RAM eviction and SSD promotion
  o.ssd_bytes = 256 << 10;  // ~150 blocks: constant SSD eviction
  auto s = std::move(BlockStore::Open(o)).value();
  std::vector<BlockRef> blocks = MakeBlocks();
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, hits{0}, bound_violations{0};
  std::thread watcher([&] {
    while (!stop) {
      StoreStats st = s->Stats();
      if (st.ram_bytes > st.ram_capacity || st.ssd_bytes > st.ssd_capacity) ++bound_violations;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int op = 0; op < 3000; ++op) {
        int k = static_cast<int>(rng() % kKeys);
        switch (rng() % 10) {
          case 0:
          case 1:
          case 2:
            s->Put(TestKey(k), blocks[k]);
            break;
          case 3:
            if (rng() % 8 == 0) s->Erase(TestKey(k));
            break;
          case 4:
            if (BlockRef b = s->GetIfInRam(TestKey(k)); b && !SameBytes(b, blocks[k])) ++bad;
            break;
          default:
            if (Result<BlockRef> r = s->Get(TestKey(k)); r.ok()) {
              ++hits;
              if (!SameBytes(*r, blocks[k])) ++bad;
            }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  watcher.join();
  s->Flush();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(bound_violations.load(), 0);
  EXPECT_GT(hits.load(), 0);
  StoreStats st = s->Stats();
  EXPECT_EQ(st.checksum_failures, 0u);
  EXPECT_EQ(st.write_errors, 0u);
  EXPECT_GT(st.ram_evictions, 0u);
  EXPECT_GT(st.ssd_evictions, 0u);
  // The index and the directory agree once the writer is idle.
  uint64_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path() + "/blocks")) {
    files += e.path().extension() == ".blk" ? 1 : 0;
  }
  EXPECT_EQ(files, st.ssd_blocks);
}

TEST(BlockStoreConcurrencyTest, SameKeyFromEightThreadsIsStoredOnce) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.path();
  auto s = std::move(BlockStore::Open(o)).value();
  BlockRef b = TestBlock(8192, 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        s->Put(TestKey(1), b);
        ASSERT_TRUE(s->Get(TestKey(1)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  s->Flush();
  StoreStats st = s->Stats();
  EXPECT_EQ(st.ram_blocks, 1u);
  EXPECT_EQ(st.ssd_blocks, 1u);
  EXPECT_EQ(st.ssd_bytes, 8192 + kBlockDataOffset);
}

TEST(BlockStoreConcurrencyTest, ReopenAfterConcurrentUseRecoversConsistentTier) {
  TempDir dir;
  StoreOptions o;
  o.dir = dir.path();
  o.ram_bytes = 32 << 10;
  o.ssd_bytes = 128 << 10;
  std::vector<BlockRef> blocks = MakeBlocks();
  uint64_t ssd_blocks = 0;
  {
    auto s = std::move(BlockStore::Open(o)).value();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int k = t; k < kKeys; k += kThreads) {
          s->Put(TestKey(k), blocks[k]);
          (void)s->Get(TestKey((k * 7) % kKeys));
        }
      });
    }
    for (auto& th : threads) th.join();
    s->Flush();
    ssd_blocks = s->Stats().ssd_blocks;
  }
  auto s = std::move(BlockStore::Open(o)).value();
  EXPECT_EQ(s->Stats().recovered_blocks, ssd_blocks);
  EXPECT_EQ(s->Stats().discarded_files, 0u);
  int served = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (Result<BlockRef> r = s->Get(TestKey(k)); r.ok()) {
      ++served;
      EXPECT_TRUE(SameBytes(*r, blocks[k]));
    }
  }
  EXPECT_EQ(static_cast<uint64_t>(served), ssd_blocks);
}

}  // namespace
}  // namespace unicache

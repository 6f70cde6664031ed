#include "store/block_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "store/block_file.h"
#include "store/store_test_util.h"

namespace unicache {
namespace {

namespace fs = std::filesystem;
using testing::SameBytes;
using testing::TempDir;
using testing::TestBlock;
using testing::TestKey;

constexpr uint64_t kBlock = 4096;
constexpr uint64_t kOnDisk = kBlock + kBlockDataOffset;

class BlockStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<BlockStore> Open(uint64_t ram, uint64_t ssd) {
    StoreOptions o;
    o.dir = dir_.path();
    o.ram_bytes = ram;
    o.ssd_bytes = ssd;
    o.metrics = &metrics_;
    Result<std::unique_ptr<BlockStore>> s = BlockStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::string PathOf(const Key128& key) { return BlockFilePath(dir_.path() + "/blocks", key); }
  int CountBlockFiles() {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_.path() + "/blocks")) {
      n += e.path().extension() == ".blk" ? 1 : 0;
    }
    return n;
  }

  TempDir dir_;
  MetricsRegistry metrics_;
};

TEST_F(BlockStoreTest, PutThenGetHitsRam) {
  auto s = Open(1 << 20, 1 << 20);
  BlockRef b = TestBlock(kBlock, 1);
  s->Put(TestKey(1), b);
  Tier tier = Tier::kSsd;
  Result<BlockRef> r = s->Get(TestKey(1), &tier);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, b);  // the same shared block, no copy
  EXPECT_EQ(tier, Tier::kRam);
  EXPECT_TRUE(s->Contains(TestKey(1)));
  EXPECT_EQ(s->GetIfInRam(TestKey(1)), b);
}

TEST_F(BlockStoreTest, MissIsNotFound) {
  auto s = Open(1 << 20, 1 << 20);
  EXPECT_EQ(s->Get(TestKey(2)).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(s->Contains(TestKey(2)));
  EXPECT_EQ(s->GetIfInRam(TestKey(2)), nullptr);
}

TEST_F(BlockStoreTest, PutOfPresentKeyIsNoop) {
  auto s = Open(1 << 20, 1 << 20);
  BlockRef first = TestBlock(kBlock, 3);
  s->Put(TestKey(3), first);
  s->Flush();
  s->Put(TestKey(3), TestBlock(kBlock, 3));
  s->Flush();
  EXPECT_EQ(*s->Get(TestKey(3)), first);
  StoreStats st = s->Stats();
  EXPECT_EQ(st.ram_blocks, 1u);
  EXPECT_EQ(st.ssd_blocks, 1u);
  EXPECT_EQ(CountBlockFiles(), 1);
}

TEST_F(BlockStoreTest, FlushPutsBlocksOnSsd) {
  auto s = Open(1 << 20, 1 << 20);
  for (int i = 0; i < 10; ++i) s->Put(TestKey(i), TestBlock(kBlock, i));
  s->Flush();
  StoreStats st = s->Stats();
  EXPECT_EQ(st.ssd_blocks, 10u);
  EXPECT_EQ(st.ssd_bytes, 10 * kOnDisk);
  EXPECT_EQ(st.pending_writes, 0u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fs::exists(PathOf(TestKey(i))));
}

TEST_F(BlockStoreTest, BlocksReachSsdWithinTwoSecondsWithoutFlush) {
  auto s = Open(1 << 20, 1 << 20);
  s->Put(TestKey(1), TestBlock(kBlock, 1));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!fs::exists(PathOf(TestKey(1))) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(fs::exists(PathOf(TestKey(1))));
}

TEST_F(BlockStoreTest, RamCapacityIsNeverExceeded) {
  auto s = Open(10 * kBlock, 1 << 20);
  for (int i = 0; i < 100; ++i) {
    s->Put(TestKey(i), TestBlock(kBlock + i, i));
    StoreStats st = s->Stats();
    ASSERT_LE(st.ram_bytes, st.ram_capacity);
  }
  StoreStats st = s->Stats();
  EXPECT_GT(st.ram_evictions, 0u);
  EXPECT_LE(st.ram_blocks, 10u);
}

TEST_F(BlockStoreTest, SsdCapacityIsNeverExceededAndEvictedFilesAreDeleted) {
  auto s = Open(2 * kBlock, 10 * kOnDisk);
  for (int i = 0; i < 50; ++i) {
    s->Put(TestKey(i), TestBlock(kBlock, i));
    s->Flush();
    ASSERT_LE(s->Stats().ssd_bytes, 10 * kOnDisk);
  }
  StoreStats st = s->Stats();
  EXPECT_EQ(st.ssd_blocks, 10u);
  EXPECT_EQ(st.ssd_evictions, 40u);
  EXPECT_EQ(CountBlockFiles(), 10);
}

TEST_F(BlockStoreTest, SsdEvictsOneTimeBlocksBeforeReReadOnes) {
  auto s = Open(0, 10 * kOnDisk);  // no RAM tier: every Get reads the SSD
  for (int i = 0; i < 5; ++i) s->Put(TestKey(i), TestBlock(kBlock, i));
  s->Flush();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s->Get(TestKey(i)).ok());
  for (int i = 100; i < 200; ++i) {  // a scan of 10x the SSD tier
    s->Put(TestKey(i), TestBlock(kBlock, i));
    s->Flush();
  }
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(s->Contains(TestKey(i))) << i;
}

TEST_F(BlockStoreTest, BlockEvictedFromRamIsServedFromSsdThenPromoted) {
  auto s = Open(2 * kBlock, 1 << 20);
  BlockRef b = TestBlock(kBlock, 1);
  s->Put(TestKey(1), b);
  for (int i = 2; i < 10; ++i) s->Put(TestKey(i), TestBlock(kBlock, i));
  s->Flush();
  ASSERT_EQ(s->GetIfInRam(TestKey(1)), nullptr);
  Tier tier = Tier::kRam;
  Result<BlockRef> r = s->Get(TestKey(1), &tier);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(tier, Tier::kSsd);
  EXPECT_TRUE(SameBytes(*r, b));
  r = s->Get(TestKey(1), &tier);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(tier, Tier::kRam);
}

TEST_F(BlockStoreTest, ContainsDoesNotPromote) {
  auto s = Open(kBlock, 1 << 20);
  s->Put(TestKey(1), TestBlock(kBlock, 1));
  s->Put(TestKey(2), TestBlock(kBlock, 2));
  s->Flush();
  EXPECT_TRUE(s->Contains(TestKey(1)));
  EXPECT_EQ(s->GetIfInRam(TestKey(1)), nullptr);
}

TEST_F(BlockStoreTest, BlockLargerThanRamGoesToSsdOnly) {
  auto s = Open(kBlock, 1 << 20);
  BlockRef big = TestBlock(3 * kBlock, 7);
  s->Put(TestKey(7), big);
  Tier tier = Tier::kSsd;
  ASSERT_TRUE(s->Get(TestKey(7), &tier).ok());  // served from the write queue or the SSD
  s->Flush();
  EXPECT_EQ(s->Stats().ram_blocks, 0u);
  Result<BlockRef> r = s->Get(TestKey(7), &tier);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(tier, Tier::kSsd);
  EXPECT_TRUE(SameBytes(*r, big));
  EXPECT_EQ(s->Stats().ram_blocks, 0u);  // too big to promote
}

TEST_F(BlockStoreTest, BlockLargerThanBothTiersIsNotStored) {
  auto s = Open(kBlock, kBlock);
  s->Put(TestKey(1), TestBlock(2 * kBlock, 1));
  s->Flush();
  EXPECT_FALSE(s->Contains(TestKey(1)));
  EXPECT_EQ(s->Stats().ssd_blocks + s->Stats().ram_blocks, 0u);
}

TEST_F(BlockStoreTest, BlockLargerThanSsdStaysInRamOnly) {
  auto s = Open(4 * kBlock, kBlock);
  s->Put(TestKey(1), TestBlock(2 * kBlock, 1));
  s->Flush();
  EXPECT_TRUE(s->Contains(TestKey(1)));
  EXPECT_EQ(s->Stats().ssd_blocks, 0u);
  EXPECT_EQ(CountBlockFiles(), 0);
}

TEST_F(BlockStoreTest, EraseRemovesFromBothTiersAndDeletesFile) {
  auto s = Open(1 << 20, 1 << 20);
  s->Put(TestKey(1), TestBlock(kBlock, 1));
  s->Flush();
  ASSERT_TRUE(fs::exists(PathOf(TestKey(1))));
  s->Erase(TestKey(1));
  EXPECT_FALSE(s->Contains(TestKey(1)));
  EXPECT_FALSE(s->Get(TestKey(1)).ok());
  EXPECT_FALSE(fs::exists(PathOf(TestKey(1))));
  StoreStats st = s->Stats();
  EXPECT_EQ(st.ram_bytes + st.ssd_bytes, 0u);
  s->Erase(TestKey(1));  // erasing a missing key is fine
}

TEST_F(BlockStoreTest, EraseRightAfterPutLeavesNoFile) {
  auto s = Open(1 << 20, 1 << 20);
  for (int i = 0; i < 50; ++i) {
    s->Put(TestKey(i), TestBlock(kBlock, i));
    s->Erase(TestKey(i));
  }
  s->Flush();
  EXPECT_EQ(CountBlockFiles(), 0);
  EXPECT_EQ(s->Stats().ssd_blocks, 0u);
  EXPECT_EQ(s->Stats().ssd_bytes, 0u);
}

TEST_F(BlockStoreTest, CorruptSsdBlockIsDeletedCountedAndNotServed) {
  auto s = Open(0, 1 << 20);
  s->Put(TestKey(1), TestBlock(kBlock, 1));
  s->Flush();
  std::string path = PathOf(TestKey(1));
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c = 0x5a;
  ASSERT_EQ(::pwrite(fd, &c, 1, kBlockDataOffset + 123), 1);  // wrong with probability 255/256
  ASSERT_EQ(::pwrite(fd, &c, 1, kBlockDataOffset + 124), 1);  // ... so change two bytes
  ::close(fd);
  EXPECT_EQ(s->Get(TestKey(1)).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(s->Contains(TestKey(1)));
  StoreStats st = s->Stats();
  EXPECT_EQ(st.checksum_failures, 1u);
  EXPECT_EQ(st.ssd_bytes, 0u);
}

TEST_F(BlockStoreTest, CorruptHeaderIsDeletedAndCounted) {
  auto s = Open(0, 1 << 20);
  s->Put(TestKey(1), TestBlock(kBlock, 1));
  s->Flush();
  std::string path = PathOf(TestKey(1));
  int fd = ::open(path.c_str(), O_RDWR);
  char zeros[8] = {};
  ASSERT_EQ(::pwrite(fd, zeros, sizeof(zeros), 24), 8);  // the data length field
  ::close(fd);
  EXPECT_EQ(s->Get(TestKey(1)).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(s->Stats().checksum_failures, 1u);
}

TEST_F(BlockStoreTest, TruncatedSsdBlockIsDeletedAndCounted) {
  auto s = Open(0, 1 << 20);
  s->Put(TestKey(1), TestBlock(kBlock, 1));
  s->Flush();
  fs::resize_file(PathOf(TestKey(1)), kBlockDataOffset + 10);
  EXPECT_EQ(s->Get(TestKey(1)).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(PathOf(TestKey(1))));
  EXPECT_EQ(s->Stats().checksum_failures, 1u);
}

TEST_F(BlockStoreTest, FileDeletedBehindTheStoreIsAMiss) {
  auto s = Open(0, 1 << 20);
  s->Put(TestKey(1), TestBlock(kBlock, 1));
  s->Flush();
  fs::remove(PathOf(TestKey(1)));
  EXPECT_EQ(s->Get(TestKey(1)).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(s->Contains(TestKey(1)));
  EXPECT_EQ(s->Stats().checksum_failures, 0u);
  EXPECT_EQ(s->Stats().ssd_bytes, 0u);
}

TEST_F(BlockStoreTest, FullWriteQueueDropsSsdWritesWithoutBlocking) {
  StoreOptions o;
  o.dir = dir_.path();
  o.ram_bytes = 1 << 30;
  o.ssd_bytes = 1 << 30;
  o.write_queue_blocks = 1;
  auto s = std::move(BlockStore::Open(o)).value();
  std::vector<BlockRef> blocks;
  for (int i = 0; i < 300; ++i) blocks.push_back(TestBlock(64 << 10, i));
  for (int i = 0; i < 300; ++i) s->Put(TestKey(i), blocks[i]);
  s->Flush();
  StoreStats st = s->Stats();
  EXPECT_GT(st.dropped_writes, 0u);
  EXPECT_EQ(st.dropped_writes + st.ssd_blocks, 300u);  // each block written or dropped, once
  EXPECT_EQ(st.ram_blocks, 300u);
  // Putting the blocks again retries the dropped writes.
  for (int round = 0; round < 1000 && s->Stats().ssd_blocks < 300; ++round) {
    for (int i = 0; i < 300; ++i) s->Put(TestKey(i), blocks[i]);
    s->Flush();
  }
  EXPECT_EQ(s->Stats().ssd_blocks, 300u);
}

TEST_F(BlockStoreTest, FlushWithNothingQueuedReturns) {
  auto s = Open(1 << 20, 1 << 20);
  s->Flush();
  EXPECT_EQ(s->Stats().pending_writes, 0u);
}

TEST_F(BlockStoreTest, StatsAddUp) {
  auto s = Open(4 * kBlock, 8 * kOnDisk);
  for (int i = 0; i < 12; ++i) s->Put(TestKey(i), TestBlock(kBlock, i));
  s->Flush();
  StoreStats st = s->Stats();
  EXPECT_EQ(st.ram_capacity, 4 * kBlock);
  EXPECT_EQ(st.ssd_capacity, 8 * kOnDisk);
  EXPECT_EQ(st.ram_blocks, 4u);
  EXPECT_EQ(st.ram_bytes, 4 * kBlock);
  EXPECT_EQ(st.ram_evictions, 8u);
  EXPECT_EQ(st.ssd_blocks, 8u);
  EXPECT_EQ(st.ssd_bytes, 8 * kOnDisk);
  EXPECT_EQ(st.ssd_evictions, 4u);
  EXPECT_EQ(st.checksum_failures + st.recovered_blocks + st.pending_writes, 0u);
  EXPECT_EQ(st.dropped_writes + st.write_errors + st.discarded_files, 0u);
}

TEST_F(BlockStoreTest, ExportsTierMetrics) {
  auto s = Open(4 * kBlock, 8 * kOnDisk);
  for (int i = 0; i < 12; ++i) s->Put(TestKey(i), TestBlock(kBlock, i));
  s->Flush();
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("unicache_tier_bytes{tier=\"ram\"} " + std::to_string(4 * kBlock)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("unicache_tier_bytes{tier=\"ssd\"} " + std::to_string(8 * kOnDisk)),
            std::string::npos);
  EXPECT_NE(text.find("unicache_tier_capacity_bytes{tier=\"ram\"} " + std::to_string(4 * kBlock)),
            std::string::npos);
  EXPECT_NE(text.find("unicache_evictions_total{tier=\"ram\"} 8"), std::string::npos);
  EXPECT_NE(text.find("unicache_evictions_total{tier=\"ssd\"} 4"), std::string::npos);
}

TEST_F(BlockStoreTest, SecondOpenOfSameDirectoryFails) {
  auto s = Open(1 << 20, 1 << 20);
  StoreOptions o;
  o.dir = dir_.path();
  EXPECT_EQ(BlockStore::Open(o).status().code(), StatusCode::kUnavailable);
}

TEST_F(BlockStoreTest, OpenFailsWhenDirectoryIsUnusable) {
  StoreOptions o;
  o.dir = dir_.path() + "/file";
  {
    std::FILE* f = std::fopen(o.dir.c_str(), "w");
    std::fclose(f);
  }
  EXPECT_FALSE(BlockStore::Open(o).ok());
  o.dir = "";
  EXPECT_EQ(BlockStore::Open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(TierNameTest, NamesTiers) {
  EXPECT_STREQ(TierName(Tier::kRam), "ram");
  EXPECT_STREQ(TierName(Tier::kSsd), "ssd");
}

TEST(BlockTest, AllocateSaysWhenMemoryCannotBeHad) {
  Result<std::shared_ptr<Block>> small = Block::Allocate(4096);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)->size(), 4096u);
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer aborts on such a request instead
  Result<std::shared_ptr<Block>> absurd = Block::Allocate(size_t{1} << 62);
  ASSERT_FALSE(absurd.ok());
  EXPECT_EQ(absurd.status().code(), StatusCode::kResourceExhausted);
#endif
}

}  // namespace
}  // namespace unicache

// Restart recovery of the SSD tier: reopening the same directory, torn and stray files, a
// smaller capacity, and a writer process killed with SIGKILL.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/block_file.h"
#include "store/block_store.h"
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

class RecoveryTest : public ::testing::Test {
 protected:
  std::unique_ptr<BlockStore> Open(uint64_t ssd = 1 << 20) {
    StoreOptions o;
    o.dir = dir_.path() + "/cache";
    o.ram_bytes = 1 << 20;
    o.ssd_bytes = ssd;
    Result<std::unique_ptr<BlockStore>> s = BlockStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // Opens a store, puts blocks 0..n-1 and closes it.
  void Fill(int n) {
    auto s = Open();
    for (int i = 0; i < n; ++i) s->Put(TestKey(i), TestBlock(kBlock, i));
  }
  std::string PathOf(const Key128& key) { return BlockFilePath(blocks(), key); }
  std::string blocks() { return dir_.path() + "/cache/blocks"; }

  TempDir dir_;
};

TEST_F(RecoveryTest, CreatesMissingDirectories) {
  auto s = Open();
  EXPECT_TRUE(fs::is_directory(blocks()));
  EXPECT_EQ(s->Stats().recovered_blocks, 0u);
}

TEST_F(RecoveryTest, ReopenFindsEveryBlockWithItsBytes) {
  Fill(20);  // the destructor writes whatever is still queued
  auto s = Open();
  StoreStats st = s->Stats();
  EXPECT_EQ(st.recovered_blocks, 20u);
  EXPECT_EQ(st.ssd_blocks, 20u);
  EXPECT_EQ(st.ssd_bytes, 20 * kOnDisk);
  EXPECT_EQ(st.ram_blocks, 0u);
  for (int i = 0; i < 20; ++i) {
    Tier tier = Tier::kRam;
    Result<BlockRef> r = s->Get(TestKey(i), &tier);
    ASSERT_TRUE(r.ok()) << i;
    EXPECT_EQ(tier, Tier::kSsd);
    EXPECT_TRUE(SameBytes(*r, TestBlock(kBlock, i)));
  }
}

TEST_F(RecoveryTest, DeletesTempFiles) {
  Fill(1);
  std::string tmp = PathOf(TestKey(5)) + std::string(kTempFileSuffix);
  fs::create_directories(fs::path(tmp).parent_path());
  std::ofstream(tmp) << "half a block";
  auto s = Open();
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(s->Stats().discarded_files, 1u);
  EXPECT_EQ(s->Stats().recovered_blocks, 1u);
}

TEST_F(RecoveryTest, DeletesTornShortAndEmptyFiles) {
  Fill(4);
  fs::resize_file(PathOf(TestKey(0)), kBlockDataOffset + 1);  // torn data
  fs::resize_file(PathOf(TestKey(1)), 20);                    // torn header
  fs::resize_file(PathOf(TestKey(2)), 0);                     // empty
  auto s = Open();
  StoreStats st = s->Stats();
  EXPECT_EQ(st.recovered_blocks, 1u);
  EXPECT_EQ(st.discarded_files, 3u);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(fs::exists(PathOf(TestKey(i))));
  EXPECT_TRUE(s->Get(TestKey(3)).ok());
}

TEST_F(RecoveryTest, DeletesFileWhoseNameDoesNotMatchItsKey) {
  Fill(1);
  std::string other = PathOf(TestKey(9));
  fs::create_directories(fs::path(other).parent_path());
  fs::copy_file(PathOf(TestKey(0)), other);
  auto s = Open();
  EXPECT_FALSE(fs::exists(other));
  EXPECT_EQ(s->Stats().recovered_blocks, 1u);
}

TEST_F(RecoveryTest, LeavesForeignFilesAlone) {
  Fill(1);
  std::string note = blocks() + "/ab/NOTES.txt";
  fs::create_directories(blocks() + "/ab");
  std::ofstream(note) << "not a block";
  auto s = Open();
  EXPECT_TRUE(fs::exists(note));
  EXPECT_EQ(s->Stats().recovered_blocks, 1u);
}

TEST_F(RecoveryTest, DoesNotReadDataButCatchesCorruptionOnGet) {
  Fill(2);
  {
    int fd = ::open(PathOf(TestKey(0)).c_str(), O_RDWR);
    char junk[4] = {1, 2, 3, 4};
    ASSERT_EQ(::pwrite(fd, junk, 4, kBlockDataOffset + 7), 4);
    ::close(fd);
  }
  auto s = Open();
  EXPECT_EQ(s->Stats().recovered_blocks, 2u);  // headers and lengths are fine
  EXPECT_EQ(s->Get(TestKey(0)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->Stats().checksum_failures, 1u);
  EXPECT_FALSE(fs::exists(PathOf(TestKey(0))));
  EXPECT_TRUE(s->Get(TestKey(1)).ok());
}

TEST_F(RecoveryTest, EvictsOldestDownToASmallerCapacity) {
  Fill(20);
  auto now = fs::file_time_type::clock::now();
  for (int i = 0; i < 20; ++i)
    fs::last_write_time(PathOf(TestKey(i)), now - std::chrono::hours(20 - i));
  auto s = Open(5 * kOnDisk);
  StoreStats st = s->Stats();
  EXPECT_EQ(st.ssd_blocks, 5u);
  EXPECT_LE(st.ssd_bytes, 5 * kOnDisk);
  EXPECT_EQ(st.ssd_evictions, 15u);
  for (int i = 0; i < 15; ++i) EXPECT_FALSE(fs::exists(PathOf(TestKey(i)))) << i;
  for (int i = 15; i < 20; ++i) EXPECT_TRUE(s->Get(TestKey(i)).ok()) << i;
}

TEST_F(RecoveryTest, BlocksSurviveSigkillOfTheWriter) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // child: put blocks, report, then wait to be killed
    StoreOptions o;
    o.dir = dir_.path() + "/cache";
    Result<std::unique_ptr<BlockStore>> s = BlockStore::Open(o);
    if (!s.ok()) ::_exit(1);
    for (int i = 0; i < 30; ++i) (*s)->Put(TestKey(i), TestBlock(kBlock, i));
    char c = 'x';
    if (::write(ready[1], &c, 1) != 1) ::_exit(2);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto s = Open();
  EXPECT_EQ(s->Stats().recovered_blocks, 30u);
  for (int i = 0; i < 30; ++i) {
    Result<BlockRef> r = s->Get(TestKey(i));
    ASSERT_TRUE(r.ok()) << i;
    EXPECT_TRUE(SameBytes(*r, TestBlock(kBlock, i)));
  }
}

}  // namespace
}  // namespace unicache

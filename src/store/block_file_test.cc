#include "store/block_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/store_test_util.h"

namespace unicache {
namespace {

using testing::SameBytes;
using testing::TempDir;
using testing::TestBlock;
using testing::TestKey;

// Overwrites one byte of the file at `offset` with its complement.
void FlipByte(const std::string& path, off_t offset) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::byte b;
  ASSERT_EQ(::pread(fd, &b, 1, offset), 1);
  b = ~b;
  ASSERT_EQ(::pwrite(fd, &b, 1, offset), 1);
  ::close(fd);
}

TEST(BlockFileTest, HeaderRoundTrips) {
  BlockHeader h{TestKey(1), 12345, 0xdeadbeefcafef00dULL};
  auto bytes = EncodeBlockHeader(h);
  Result<BlockHeader> d = DecodeBlockHeader(bytes.data());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->key, h.key);
  EXPECT_EQ(d->data_length, 12345u);
  EXPECT_EQ(d->data_checksum, h.data_checksum);
}

TEST(BlockFileTest, HeaderWithAnyFlippedByteIsRejected) {
  auto good = EncodeBlockHeader({TestKey(2), 7, 9});
  for (size_t i = 0; i < kBlockHeaderSize; ++i) {
    auto bad = good;
    bad[i] = ~bad[i];
    EXPECT_FALSE(DecodeBlockHeader(bad.data()).ok()) << "byte " << i;
  }
}

TEST(BlockFileTest, PathFansOutByFirstTwoHexDigits) {
  Key128 k = TestKey(3);
  std::string hex = k.Hex();
  EXPECT_EQ(BlockFilePath("/r", k), "/r/" + hex.substr(0, 2) + "/" + hex + ".blk");
}

TEST(BlockFileTest, WriteThenReadReturnsSameBytes) {
  TempDir dir;
  BlockRef b = TestBlock(100000, 4);
  ASSERT_TRUE(WriteBlockFile(dir.path(), TestKey(4), *b, /*sync=*/true).ok());
  EXPECT_EQ(std::filesystem::file_size(BlockFilePath(dir.path(), TestKey(4))),
            100000 + kBlockDataOffset);
  EXPECT_FALSE(std::filesystem::exists(BlockFilePath(dir.path(), TestKey(4)) + ".tmp"));
  Result<BlockRef> r = ReadBlockFile(dir.path(), TestKey(4), 100000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(SameBytes(*r, b));
  Result<BlockHeader> h = ProbeBlockFile(BlockFilePath(dir.path(), TestKey(4)));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->data_length, 100000u);
}

// A whole 4 MiB block is huge-page aligned: it goes to the file from its own memory, after the
// header page, rather than through the aligned copy smaller and tail blocks take.
TEST(BlockFileTest, AlignedBlockRoundTrips) {
  TempDir dir;
  BlockRef b = TestBlock(4 << 20, 5);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(b->data()) % 4096, 0u);
  ASSERT_TRUE(WriteBlockFile(dir.path(), TestKey(5), *b, /*sync=*/false).ok());
  EXPECT_EQ(std::filesystem::file_size(BlockFilePath(dir.path(), TestKey(5))),
            (4u << 20) + kBlockDataOffset);
  Result<BlockRef> r = ReadBlockFile(dir.path(), TestKey(5), 4 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(SameBytes(*r, b));
}

TEST(BlockFileTest, EmptyBlockRoundTrips) {
  TempDir dir;
  ASSERT_TRUE(WriteBlockFile(dir.path(), TestKey(5), *TestBlock(0, 5), false).ok());
  Result<BlockRef> r = ReadBlockFile(dir.path(), TestKey(5), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 0u);
}

TEST(BlockFileTest, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_EQ(ReadBlockFile(dir.path(), TestKey(6), 10).status().code(), StatusCode::kNotFound);
}

TEST(BlockFileTest, CorruptDataIsChecksumMismatch) {
  TempDir dir;
  ASSERT_TRUE(WriteBlockFile(dir.path(), TestKey(7), *TestBlock(4096, 7), false).ok());
  FlipByte(BlockFilePath(dir.path(), TestKey(7)), kBlockDataOffset + 1000);
  EXPECT_EQ(ReadBlockFile(dir.path(), TestKey(7), 4096).status().code(),
            StatusCode::kChecksumMismatch);
  // The header is intact, so a probe (no data read) still passes.
  EXPECT_TRUE(ProbeBlockFile(BlockFilePath(dir.path(), TestKey(7))).ok());
}

TEST(BlockFileTest, TruncatedFileFailsProbeAndRead) {
  TempDir dir;
  ASSERT_TRUE(WriteBlockFile(dir.path(), TestKey(8), *TestBlock(4096, 8), false).ok());
  std::string path = BlockFilePath(dir.path(), TestKey(8));
  std::filesystem::resize_file(path, kBlockDataOffset + 100);
  EXPECT_EQ(ProbeBlockFile(path).status().code(), StatusCode::kChecksumMismatch);
  EXPECT_EQ(ReadBlockFile(dir.path(), TestKey(8), 4096).status().code(),
            StatusCode::kChecksumMismatch);
  std::filesystem::resize_file(path, 10);  // shorter than a header
  EXPECT_EQ(ProbeBlockFile(path).status().code(), StatusCode::kChecksumMismatch);
}

TEST(BlockFileTest, FileOfAnotherKeyIsRejected) {
  TempDir dir;
  ASSERT_TRUE(WriteBlockFile(dir.path(), TestKey(9), *TestBlock(64, 9), false).ok());
  std::string other = BlockFilePath(dir.path(), TestKey(10));
  std::filesystem::create_directories(std::filesystem::path(other).parent_path());
  std::filesystem::copy_file(BlockFilePath(dir.path(), TestKey(9)), other);
  EXPECT_EQ(ReadBlockFile(dir.path(), TestKey(10), 64).status().code(),
            StatusCode::kChecksumMismatch);
}

}  // namespace
}  // namespace unicache

#include "fuse/write_spool.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace unicache::fuse {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string TempDir() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr ? t : "/tmp";
}

TEST(WriteSpoolTest, WritesReadsAndMapsTheContents) {
  auto spool = WriteSpool::Create(TempDir());
  ASSERT_TRUE(spool.ok()) << spool.status().ToString();
  WriteSpool& s = **spool;
  EXPECT_FALSE(s.dirty());
  ASSERT_TRUE(s.Write(0, Bytes("hello")).ok());
  ASSERT_TRUE(s.Write(10, Bytes("world")).ok());  // leaves a hole of zeros
  EXPECT_TRUE(s.dirty());
  EXPECT_EQ(s.size(), 15u);
  std::string got(20, 'x');
  auto n = s.Read(3, std::as_writable_bytes(std::span(got.data(), got.size())));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 12u);
  EXPECT_EQ(got.substr(0, 12), std::string("lo\0\0\0\0\0world", 12));
  std::string all;
  ASSERT_TRUE(s.WithContents([&](std::span<const std::byte> d) {
                 all.assign(reinterpret_cast<const char*>(d.data()), d.size());
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(all, std::string("hello\0\0\0\0\0world", 15));
}

TEST(WriteSpoolTest, TruncatesAndHandlesEmptyFiles) {
  auto spool = WriteSpool::Create(TempDir());
  ASSERT_TRUE(spool.ok());
  WriteSpool& s = **spool;
  ASSERT_TRUE(s.Write(0, Bytes("abcdef")).ok());
  ASSERT_TRUE(s.Truncate(2).ok());
  EXPECT_EQ(s.size(), 2u);
  ASSERT_TRUE(s.Truncate(0).ok());
  size_t seen = 99;
  ASSERT_TRUE(s.WithContents([&](std::span<const std::byte> d) {
                 seen = d.size();
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(seen, 0u);
}

TEST(WriteSpoolTest, MissingDirectoryIsAnError) {
  auto spool = WriteSpool::Create("/nonexistent/unicache-spool");
  EXPECT_FALSE(spool.ok());
}

}  // namespace
}  // namespace unicache::fuse

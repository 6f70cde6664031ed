#include "kv/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

namespace unicache {
namespace {

TEST(SharedMemoryTest, CreateMapsASealedRegionAnotherMappingSees) {
  auto seg = SharedMemory::Create(1 << 20, "test");
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  std::memcpy((*seg)->data(), "hello", 5);
  int seals = fcntl((*seg)->fd(), F_GET_SEALS);
  EXPECT_NE(seals & F_SEAL_SHRINK, 0);
  EXPECT_NE(ftruncate((*seg)->fd(), 10), 0) << "a sealed segment cannot shrink";
  auto other = SharedMemory::Map(dup((*seg)->fd()));
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ((*other)->size(), 1u << 20);
  EXPECT_EQ(std::memcmp((*other)->data(), "hello", 5), 0);
  std::memcpy((*other)->data() + 100, "world", 5);
  EXPECT_EQ(std::memcmp((*seg)->data() + 100, "world", 5), 0);
}

TEST(SharedMemoryTest, MapRefusesUnsealedOrForeignDescriptors) {
  int fd = memfd_create("unsealed", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  auto r = SharedMemory::Map(fd);  // takes the fd either way
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("F_SEAL_SHRINK"), std::string::npos);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[1]);
  EXPECT_FALSE(SharedMemory::Map(fds[0]).ok());

  int empty = memfd_create("empty", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(fcntl(empty, F_ADD_SEALS, F_SEAL_SHRINK), 0);
  EXPECT_FALSE(SharedMemory::Map(empty).ok());
}

TEST(SharedMemoryTest, CreateRefusesBadSizes) {
  EXPECT_FALSE(SharedMemory::Create(0, "x").ok());
  EXPECT_FALSE(SharedMemory::Create((1ull << 40) + 1, "x").ok());
}

TEST(SharedMemoryTest, ContainsIsOverflowSafe) {
  auto seg = SharedMemory::Create(4096, "test");
  ASSERT_TRUE(seg.ok());
  const SharedMemory& s = **seg;
  EXPECT_TRUE(s.Contains(0, 4096));
  EXPECT_TRUE(s.Contains(4096, 0));
  EXPECT_TRUE(s.Contains(100, 3996));
  EXPECT_FALSE(s.Contains(100, 3997));
  EXPECT_FALSE(s.Contains(4097, 0));
  EXPECT_FALSE(s.Contains(UINT64_MAX, 2));
  EXPECT_FALSE(s.Contains(2, UINT64_MAX));
}

TEST(SharedMemoryTest, DescriptorCrossesAUnixSocket) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto seg = SharedMemory::Create(8192, "test");
  ASSERT_TRUE(seg.ok());
  std::memcpy((*seg)->data(), "shared", 6);
  ASSERT_TRUE(SendWithFd(sv[0], "hello", (*seg)->fd()).ok());
  char buf[16] = {};
  int fd = -1;
  long n = RecvWithFd(sv[1], buf, sizeof(buf), &fd);
  ASSERT_EQ(n, 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_GE(fd, 0);
  auto mapped = SharedMemory::Map(fd);
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  EXPECT_EQ(std::memcmp((*mapped)->data(), "shared", 6), 0);
  int none = -1;
  EXPECT_EQ(RecvWithFd(sv[1], buf, sizeof(buf), &none), -1);  // nothing more: EAGAIN
  EXPECT_EQ(none, -1);
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace unicache

// Mounts FuseFs over the in-memory FakeClient for real (kernel FUSE) and checks the operations
// with ordinary system calls. Skipped where /dev/fuse cannot be opened.
#include "fuse/mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "fuse/fake_client.h"

namespace unicache::fuse {
namespace {

std::string Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) GTEST_SKIP() << "/dev/fuse is not usable here: " << std::strerror(errno);
    ::close(fd);
    char templ[] = "/tmp/unicache-fuse-test-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    client_.Put("data", "top.txt", "hello\n");
    client_.Put("data", "train/empty", "");
    client_.Put("data", "train/one", "x");
    big_ = Pattern(3 * 1024 * 1024 + 17, 7);
    client_.Put("data", "train/sub/big.bin", big_);
  }

  void Mount(bool write_through,
             std::chrono::milliseconds stale_if_error = std::chrono::milliseconds(0)) {
    MountOptions o;
    o.fs.origin = "data";
    o.fs.write_through = write_through;
    o.fs.metadata_ttl = std::chrono::milliseconds(100);
    o.fs.stale_if_error = stale_if_error;
    o.fs.spool_dir = dir_;
    o.mountpoint = dir_ + "/mnt";
    o.handle_signals = false;
    std::filesystem::create_directories(o.mountpoint);
    ASSERT_TRUE(ValidateMountpoint(o.mountpoint).ok());
    Result<bool> data = CheckOrigin(client_, "data", "");
    ASSERT_TRUE(data.ok() && *data);
    Result<bool> typo = CheckOrigin(client_, "data", "no-such-prefix/");
    ASSERT_TRUE(typo.ok());
    EXPECT_FALSE(*typo);
    EXPECT_EQ(CheckOrigin(client_, "nope", "").status().code(), StatusCode::kNotFound);
    auto s = MountSession::Create(client_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    session_ = std::move(*s);
    mnt_ = o.mountpoint;
    loop_ = std::thread([this] { run_status_ = session_->Run(); });
  }

  void TearDown() override {
    if (session_) {
      session_->Unmount();
      loop_.join();
      EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
      session_.reset();
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string ReadFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return "<errno " + std::to_string(errno) + ">";
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return out;
  }

  std::set<std::string> List(const std::string& path) {
    std::set<std::string> names;
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return names;
    while (dirent* e = ::readdir(d)) names.insert(e->d_name);
    ::closedir(d);
    return names;
  }

  FakeClient client_;
  std::string dir_, mnt_, big_;
  std::unique_ptr<MountSession> session_;
  std::thread loop_;
  Status run_status_;
};

TEST_F(MountTest, ReadOnlyTree) {
  Mount(false);
  EXPECT_EQ(List(mnt_), (std::set<std::string>{".", "..", "top.txt", "train"}));
  EXPECT_EQ(List(mnt_ + "/train"), (std::set<std::string>{".", "..", "empty", "one", "sub"}));
  struct stat st;
  ASSERT_EQ(::stat((mnt_ + "/train/sub/big.bin").c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), big_.size());
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_EQ(::stat((mnt_ + "/train/sub").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(ReadFile(mnt_ + "/top.txt"), "hello\n");
  EXPECT_EQ(ReadFile(mnt_ + "/train/empty"), "");
  EXPECT_EQ(ReadFile(mnt_ + "/train/one"), "x");
  EXPECT_EQ(ReadFile(mnt_ + "/train/sub/big.bin"), big_);

  int fd = ::open((mnt_ + "/train/sub/big.bin").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::mt19937 rng(1);
  for (int i = 0; i < 50; ++i) {
    size_t off = rng() % big_.size();
    size_t len = 1 + rng() % (1 << 20);
    std::string buf(len, '\0');
    ssize_t n = ::pread(fd, buf.data(), len, static_cast<off_t>(off));
    ASSERT_EQ(static_cast<size_t>(n), std::min(len, big_.size() - off));
    EXPECT_EQ(buf.substr(0, static_cast<size_t>(n)), big_.substr(off, static_cast<size_t>(n)));
  }
  ::close(fd);

  EXPECT_EQ(::stat((mnt_ + "/nope").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(::open((mnt_ + "/new").c_str(), O_WRONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(::open((mnt_ + "/top.txt").c_str(), O_WRONLY), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(::mkdir((mnt_ + "/d").c_str(), 0755), -1);
  EXPECT_EQ(errno, EROFS);

  // A dead cluster: reads of data the kernel has not cached fail with EIO, not a hang.
  client_.SetFailure(Unavailable("no member answered"));
  fd = ::open((mnt_ + "/train/one").c_str(), O_RDONLY);
  if (fd >= 0) {  // open may still succeed from cached attributes
    char c;
    ::usleep(150 * 1000);
    EXPECT_EQ(::pread(fd, &c, 1, 0) == 1 || errno == EIO, true);
    ::close(fd);
  }
  ::usleep(150 * 1000);  // past the metadata TTL
  EXPECT_EQ(::stat((mnt_ + "/train/sub/big.bin").c_str(), &st), -1);
  EXPECT_EQ(errno, EIO);
  client_.SetFailure(Status::Ok());
}

// With stale-if-error the last listings stay visible while the cluster (or its origin) is
// unreachable; data the kernel has not cached still fails with EIO, never a hang.
TEST_F(MountTest, AnOutageKeepsTheLastListingsVisible) {
  Mount(false, std::chrono::hours(1));
  EXPECT_EQ(List(mnt_ + "/train"), (std::set<std::string>{".", "..", "empty", "one", "sub"}));
  EXPECT_EQ(List(mnt_ + "/train/sub"), (std::set<std::string>{".", "..", "big.bin"}));
  client_.SetFailure(Unavailable("no member answered"));
  ::usleep(250 * 1000);  // past the metadata TTL
  EXPECT_EQ(List(mnt_ + "/train"), (std::set<std::string>{".", "..", "empty", "one", "sub"}));
  struct stat st;
  ASSERT_EQ(::stat((mnt_ + "/train/sub/big.bin").c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), big_.size());
  int fd = ::open((mnt_ + "/train/sub/big.bin").c_str(), O_RDONLY);
  if (fd >= 0) {
    char c;
    EXPECT_EQ(::pread(fd, &c, 1, 12345), -1);
    EXPECT_EQ(errno, EIO);
    ::close(fd);
  } else {
    EXPECT_EQ(errno, EIO);
  }
  client_.SetFailure(Status::Ok());
}

TEST_F(MountTest, WriteThrough) {
  Mount(true);
  std::string ckpt = Pattern(2 * 1024 * 1024 + 5, 9);
  ASSERT_EQ(::mkdir((mnt_ + "/ckpt").c_str(), 0755), 0);
  int fd = ::open((mnt_ + "/ckpt/step1.pt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  for (size_t off = 0; off < ckpt.size(); off += 100000) {
    size_t n = std::min<size_t>(100000, ckpt.size() - off);
    ASSERT_EQ(::write(fd, ckpt.data() + off, n), static_cast<ssize_t>(n));
  }
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(client_.Get("data", "ckpt/step1.pt"), ckpt);  // in the origin when close returns
  EXPECT_EQ(ReadFile(mnt_ + "/ckpt/step1.pt"), ckpt);
  EXPECT_EQ(List(mnt_ + "/ckpt"), (std::set<std::string>{".", "..", "step1.pt"}));

  // An empty file is an object too.
  fd = ::open((mnt_ + "/empty.txt").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(client_.Get("data", "empty.txt"), "");

  // Overwrite in place (no O_TRUNC): the old bytes are loaded first.
  fd = ::open((mnt_ + "/top.txt").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "J", 1, 0), 1);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(client_.Get("data", "top.txt"), "Jello\n");
  EXPECT_EQ(ReadFile(mnt_ + "/top.txt"), "Jello\n");

  EXPECT_EQ(::unlink((mnt_ + "/top.txt").c_str()), -1);
  EXPECT_EQ(errno, ENOTSUP);
}

}  // namespace
}  // namespace unicache::fuse

#include "kv/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace unicache {
namespace {

constexpr uint64_t kMaxSegmentBytes = 1ull << 40;

Status Errno(const std::string& what) { return Internal(what + ": " + std::strerror(errno)); }

}  // namespace

Result<std::unique_ptr<SharedMemory>> SharedMemory::Create(size_t bytes, const std::string& name) {
  if (bytes == 0 || bytes > kMaxSegmentBytes) {
    return InvalidArgument("shared-memory segment size must be 1 byte .. 1 TiB");
  }
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Errno("memfd_create");
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0 ||
      ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    Status st = Errno("sizing the segment");
    ::close(fd);
    return st;
  }
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    Status st = Errno("mmap of the segment");
    ::close(fd);
    return st;
  }
  return std::unique_ptr<SharedMemory>(new SharedMemory(fd, static_cast<std::byte*>(base), bytes));
}

Result<std::unique_ptr<SharedMemory>> SharedMemory::Map(int fd) {
  struct stat st {};
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (::fstat(fd, &st) != 0 || seals < 0 || (seals & F_SEAL_SHRINK) == 0) {
    ::close(fd);
    return InvalidArgument(
        "the segment must be a memfd sealed against shrinking (memfd_create with "
        "MFD_ALLOW_SEALING, then fcntl F_ADD_SEALS F_SEAL_SHRINK)");
  }
  if (st.st_size <= 0 || static_cast<uint64_t>(st.st_size) > kMaxSegmentBytes) {
    ::close(fd);
    return InvalidArgument("the segment must be 1 byte .. 1 TiB");
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    Status s = Errno("mmap of the client's segment");
    ::close(fd);
    return s;
  }
  return std::unique_ptr<SharedMemory>(new SharedMemory(fd, static_cast<std::byte*>(base), size));
}

SharedMemory::~SharedMemory() {
  ::munmap(base_, size_);
  ::close(fd_);
}

Status SendWithFd(int sock, std::string_view data, int fd) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  if (n < 0) return Unavailable(std::string("send to the local node: ") + std::strerror(errno));
  if (static_cast<size_t>(n) == data.size()) return Status::Ok();
  // The descriptor went with the first bytes; send the rest plainly.
  data.remove_prefix(static_cast<size_t>(n));
  while (!data.empty()) {
    ssize_t m = ::send(sock, data.data(), data.size(), MSG_NOSIGNAL);
    if (m < 0 && errno == EINTR) continue;
    if (m <= 0) return Unavailable(std::string("send to the local node: ") + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(m));
  }
  return Status::Ok();
}

long RecvWithFd(int sock, char* buf, size_t len, int* fd) {
  iovec iov{buf, len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0) return -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*fd >= 0) ::close(*fd);
      *fd = received;  // the last one wins; extra ones are closed
    }
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    errno = EBADMSG;
    return -1;
  }
  return static_cast<long>(n);
}

}  // namespace unicache

// SharedMemory: a memfd mapped read-write and shared, the region a KV client registers with its
// local node (docs/KV.md, "Shared-memory path"). The client creates it sealed against shrinking;
// the node maps the descriptor it receives only if that seal is set, so a client can never
// truncate memory the node is copying into (which would kill the node with SIGBUS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"

namespace unicache {

class SharedMemory {
 public:
  // Creates a memfd of `bytes` (1 byte .. 1 TiB), sealed against shrinking, and maps it.
  static Result<std::unique_ptr<SharedMemory>> Create(size_t bytes, const std::string& name);
  // Maps a descriptor received from a client (takes ownership of `fd`). InvalidArgument unless
  // it is a memfd of at least 1 byte sealed with F_SEAL_SHRINK.
  static Result<std::unique_ptr<SharedMemory>> Map(int fd);
  ~SharedMemory();
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;

  std::span<std::byte> bytes() const { return {base_, size_}; }
  std::byte* data() const { return base_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  // Returns whether [offset, offset + length) lies inside the region (overflow-safe).
  bool Contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

 private:
  SharedMemory(int fd, std::byte* base, size_t size) : fd_(fd), base_(base), size_(size) {}
  int fd_;
  std::byte* base_;
  size_t size_;
};

// Sends `data` on the Unix socket `sock` with `fd` attached (SCM_RIGHTS). Blocking.
Status SendWithFd(int sock, std::string_view data, int fd);
// Receives up to `len` bytes from the Unix socket `sock`; a descriptor that rides along is
// stored in `*fd` (closing one already there). Returns the bytes read (0 at end of stream), or
// -1 with errno set. Truncated control data is reported as -1 / EBADMSG.
long RecvWithFd(int sock, char* buf, size_t len, int* fd);

}  // namespace unicache

// WriteSpool: the local copy of a file being written through the mount. Writes land in an
// unlinked temporary file under the spool directory; on flush/release the whole file is
// uploaded with Client::Write, so the origin has it when close() returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"

namespace unicache::fuse {

// Thread-compatible: the owner (one open file handle) serializes calls.
class WriteSpool {
 public:
  // Creates an empty spool file in `dir` (which must exist). The file has no name (O_TMPFILE,
  // or unlinked right after mkstemp), so nothing is left behind if the process dies.
  static Result<std::unique_ptr<WriteSpool>> Create(const std::string& dir);
  ~WriteSpool();
  WriteSpool(const WriteSpool&) = delete;
  WriteSpool& operator=(const WriteSpool&) = delete;

  // Writes `data` at `offset`, growing the file as needed; marks the spool dirty.
  Status Write(uint64_t offset, std::span<const std::byte> data);
  // Reads up to dst.size() bytes at `offset`; returns the count (0 at or past the end).
  Result<size_t> Read(uint64_t offset, std::span<std::byte> dst);
  // Sets the size to `size`; marks the spool dirty.
  Status Truncate(uint64_t size);
  // Calls `fn` with the whole contents (memory-mapped read-only, no copy).
  Status WithContents(const std::function<Status(std::span<const std::byte>)>& fn);

  uint64_t size() const { return size_; }
  bool dirty() const { return dirty_; }
  void set_dirty(bool dirty) { dirty_ = dirty; }

 private:
  explicit WriteSpool(int fd) : fd_(fd) {}
  int fd_;
  uint64_t size_ = 0;
  bool dirty_ = false;
};

}  // namespace unicache::fuse

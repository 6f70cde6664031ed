// InodeTable: the inode numbers the kernel knows, each bound to one object key, with the
// attributes last seen for it and the kernel's lookup count.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace unicache::fuse {

using Clock = std::chrono::steady_clock;

// What the file system knows about one file or directory.
struct NodeAttr {
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string version;        // ETag of the object (files)
  Clock::time_point fetched;  // when size/version were last read from the cluster
};

struct Node {
  uint64_t ino = 0;
  std::string key;  // see path_map.h
  NodeAttr attr;
  uint64_t nlookup = 0;
  // Version for which the kernel page cache holds this file's pages (keep_cache is safe while
  // the object's version stays the same).
  std::string cached_version;
};

// Inode numbers are handed out from a counter and never reused within one mount, so a stale
// kernel reference can never reach a different object. The root (kRootIno) is never forgotten.
// Thread-safe: every method takes one internal mutex.
class InodeTable {
 public:
  static constexpr uint64_t kRootIno = 1;  // FUSE_ROOT_ID

  // `root_key` is the key of the mounted directory ("" or ending in '/').
  explicit InodeTable(std::string root_key);

  // Returns the inode for `key` (creating it), sets its attributes to `attr` (unless it exists
  // and `keep_attr`, e.g. while the file is being written locally) and counts one kernel lookup
  // (the caller replies with this inode to a lookup/create/mkdir/readdirplus).
  uint64_t Lookup(const std::string& key, const NodeAttr& attr, bool keep_attr = false);

  // Returns a copy of the node, or nullopt for an unknown (forgotten) inode.
  std::optional<Node> Get(uint64_t ino) const;

  // Returns the inode bound to `key`, or 0.
  uint64_t Find(const std::string& key) const;

  // Replaces the attributes of `ino` (no-op for unknown inodes).
  void SetAttr(uint64_t ino, const NodeAttr& attr);

  // Grows the size of `ino` to at least `size` (local writes).
  void ExtendSize(uint64_t ino, uint64_t size);

  // Sets the size of `ino` (truncate).
  void SetSize(uint64_t ino, uint64_t size);

  // Records which object version the kernel page cache holds for `ino`; returns true when it
  // is the version recorded before (so the cached pages may be kept).
  bool SwapCachedVersion(uint64_t ino, const std::string& version);

  // Marks the attributes of `ino` stale so the next getattr/open re-reads them.
  void MarkStale(uint64_t ino);

  // Drops `n` kernel lookups of `ino`; forgets the inode when none are left.
  void Forget(uint64_t ino, uint64_t n);

  // Returns the number of live inodes (root included).
  size_t size() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_ino_ = kRootIno + 1;                  // guarded by mu_
  std::unordered_map<uint64_t, Node> nodes_;          // guarded by mu_
  std::unordered_map<std::string, uint64_t> by_key_;  // guarded by mu_
};

}  // namespace unicache::fuse

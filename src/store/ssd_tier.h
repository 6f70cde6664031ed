// SsdTier: the store's on-disk tier, one verified block file per block, bounded in bytes with
// S3-FIFO eviction, and rebuilt from the directory at Open().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/hash.h"
#include "common/metrics.h"
#include "common/status.h"
#include "store/block.h"
#include "store/s3fifo.h"

namespace unicache {

// Where the SSD tier lives and how it reports. Value type.
struct SsdTierOptions {
  std::string dir;               // the store directory; block files go under dir/blocks
  uint64_t capacity = 0;         // bytes, counting each file's header
  bool sync_writes = false;      // fdatasync each block file before it is renamed into place
  Gauge* bytes_gauge = nullptr;  // non-owning, may be null
  Counter* evictions = nullptr;  // non-owning, may be null
};

// The index (key -> data length) sits under one mutex held only for map and policy updates; file
// I/O (open, pread, write, rename, unlink) always runs with the mutex released. Each indexed
// file carries a generation so that a reader which finds a file missing or corrupt drops only
// the entry it looked up, never a newer one written meanwhile. A block file is charged its data
// length plus the header. Thread-safe; Write() is meant for a single writer thread.
class SsdTier {
 public:
  // Creates `options.dir` (and dir/blocks) when missing, takes an exclusive lock on the
  // directory (Unavailable when another store holds it), and rebuilds the index from the block
  // files: temp files and torn or foreign files are deleted, data is not read, and the oldest
  // files are evicted while the total exceeds the capacity.
  static Result<std::unique_ptr<SsdTier>> Open(const SsdTierOptions& options);
  ~SsdTier();

  // Reads and verifies the block. NotFound on a miss or when the file is corrupt (it is then
  // deleted and counted in checksum_failures()); other I/O errors as they come.
  Result<BlockRef> Read(const Key128& key);

  // Writes the block's file and indexes it, evicting (deleting) others as needed. A no-op when
  // the key is indexed already. ResourceExhausted when the block cannot fit.
  Status Write(const Key128& key, const Block& block);

  // Removes the block from the index and deletes its file.
  void Erase(const Key128& key);

  // Returns whether a block of `size` data bytes could ever be stored.
  bool Fits(uint64_t size) const;

  bool Contains(const Key128& key) const;
  uint64_t bytes() const;
  uint64_t blocks() const;
  uint64_t capacity() const { return options_.capacity; }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  uint64_t checksum_failures() const { return checksum_failures_.load(std::memory_order_relaxed); }
  uint64_t recovered_blocks() const { return recovered_blocks_; }
  uint64_t discarded_files() const { return discarded_files_; }

 private:
  explicit SsdTier(const SsdTierOptions& options);
  Status Recover();
  // Indexes a block file already on disk; deletes the files of evicted blocks.
  bool Index(const Key128& key, uint64_t data_length);
  // Drops the entry for `key` when it still has generation `gen`; returns whether it did.
  bool DropIfSame(const Key128& key, uint64_t gen);
  void UpdateGauge();

  const SsdTierOptions options_;
  const std::string root_;  // options_.dir + "/blocks"
  int lock_fd_ = -1;
  uint64_t recovered_blocks_ = 0, discarded_files_ = 0;  // written only during Open()
  std::atomic<uint64_t> evictions_{0}, checksum_failures_{0};

  mutable std::mutex mu_;
  S3Fifo<Key128> policy_;                     // GUARDED_BY(mu_); weight = file bytes
  std::unordered_map<Key128, uint64_t> gen_;  // GUARDED_BY(mu_)
  uint64_t next_gen_ = 0;                     // GUARDED_BY(mu_)
};

}  // namespace unicache

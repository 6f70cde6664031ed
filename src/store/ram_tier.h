// RamTier: the store's in-memory tier, a byte-bounded map of blocks with S3-FIFO eviction.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/hash.h"
#include "common/metrics.h"
#include "store/block.h"
#include "store/s3fifo.h"

namespace unicache {

// Holds BlockRefs under one mutex whose critical sections are a hash lookup or an insert with
// its evictions; evicted blocks are released after the lock is dropped. Readers keep a
// BlockRef, so eviction never invalidates bytes in use. Thread-safe.
class RamTier {
 public:
  // `bytes_gauge` and `evictions` are non-owning and may be null.
  RamTier(uint64_t capacity, Gauge* bytes_gauge, Counter* evictions);

  // Returns the block and records an access, or null on a miss.
  BlockRef Lookup(const Key128& key);

  // Adds the block, evicting others as needed. Returns false when it was present already or
  // does not fit (larger than the capacity).
  bool Insert(const Key128& key, BlockRef block);

  // Removes the block; returns whether it was present.
  bool Erase(const Key128& key);

  bool Contains(const Key128& key) const;
  uint64_t bytes() const;
  uint64_t blocks() const;
  uint64_t capacity() const { return capacity_; }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  const uint64_t capacity_;
  Gauge* const bytes_gauge_;
  Counter* const evictions_counter_;
  std::atomic<uint64_t> evictions_{0};

  mutable std::mutex mu_;
  S3Fifo<Key128> policy_;                        // GUARDED_BY(mu_)
  std::unordered_map<Key128, BlockRef> blocks_;  // GUARDED_BY(mu_)
};

}  // namespace unicache

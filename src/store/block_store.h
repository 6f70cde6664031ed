// BlockStore: one node's cache of blocks in two tiers, RAM then SSD (files under a directory),
// each bounded in bytes with S3-FIFO eviction, a checksum on every SSD block verified on every
// SSD read, and restart recovery of the SSD tier.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/hash.h"
#include "common/metrics.h"
#include "common/status.h"
#include "store/block.h"

namespace unicache {

enum class Tier { kRam, kSsd };

// Returns "ram" or "ssd".
const char* TierName(Tier tier);

struct StoreOptions {
  std::string dir;  // SSD tier directory; created if missing
  uint64_t ram_bytes = 1ull << 30;
  uint64_t ssd_bytes = 10ull << 30;
  // Non-owning; may be null. When set the store exports unicache_tier_bytes{tier},
  // unicache_tier_capacity_bytes{tier} and unicache_evictions_total{tier}.
  MetricsRegistry* metrics = nullptr;
  // Bounds of the queue of blocks waiting for the SSD writer thread. When full, Put() skips the
  // SSD copy of the block (counted in dropped_writes) instead of blocking. One block of any size
  // is accepted into an empty queue.
  uint64_t write_queue_blocks = 1024;
  uint64_t write_queue_bytes = 256ull << 20;
  // fdatasync each block file before renaming it into place. Off by default: rename alone keeps
  // blocks across a process crash (SIGKILL); sync also keeps them across power loss.
  bool sync_writes = false;
};

struct StoreStats {
  uint64_t ram_bytes = 0, ram_capacity = 0, ram_blocks = 0;
  uint64_t ssd_bytes = 0, ssd_capacity = 0, ssd_blocks = 0;
  uint64_t ram_evictions = 0, ssd_evictions = 0;
  uint64_t checksum_failures = 0;  // corrupt SSD blocks found (and dropped)
  uint64_t recovered_blocks = 0;   // SSD blocks found again at Open()
  uint64_t pending_writes = 0;     // blocks queued for the SSD tier
  uint64_t dropped_writes = 0;     // SSD writes skipped because the write queue was full
  uint64_t write_errors = 0;       // SSD writes that failed (e.g. disk full)
  uint64_t discarded_files = 0;    // temp, torn or foreign block files deleted at Open()
};

// Thread-safe. Blocks are immutable, so a key always names the same bytes: Put() of a key that
// is present is a no-op. One background thread writes queued blocks to the SSD tier; the
// destructor writes what is still queued, then stops it.
class BlockStore {
 public:
  // Opens (creating or recovering) the store. Fails if the directory cannot be used.
  static Result<std::unique_ptr<BlockStore>> Open(const StoreOptions& options);
  virtual ~BlockStore() = default;

  // Returns the block from RAM, or from SSD after verifying its checksum (an SSD hit is promoted
  // to RAM). NotFound on a miss; a corrupt SSD block is deleted, counted, and reported NotFound.
  // Other SSD read errors (e.g. EIO, too many open files) are returned as they come. A block
  // still queued for the SSD tier is served from memory (tier kRam).
  // Sets *tier to where it was found when tier is non-null.
  virtual Result<BlockRef> Get(const Key128& key, Tier* tier = nullptr) = 0;

  // Returns the block when the RAM tier holds it (a hit for eviction purposes), without any I/O;
  // nullptr otherwise. The server calls this on its event loop, so it must never block on I/O.
  virtual BlockRef GetIfInRam(const Key128& key) = 0;

  // Returns true when either tier holds the block (no I/O, no promotion).
  virtual bool Contains(const Key128& key) const = 0;

  // Adds a block to RAM and queues it for the SSD tier, where it lands within a second or two.
  // Blocks larger than the RAM tier go to SSD only. Blocks larger than both are not stored.
  virtual void Put(const Key128& key, BlockRef block) = 0;

  // Removes the block from both tiers and the write queue. A Get() racing with Erase() may still
  // return the block and put it back in RAM.
  virtual void Erase(const Key128& key) = 0;

  // Blocks until every block queued before the call is written to the SSD tier (or its write
  // failed, counted in write_errors).
  virtual void Flush() = 0;

  // Returns a snapshot of the counters (each read separately, not one atomic snapshot).
  virtual StoreStats Stats() const = 0;
};

}  // namespace unicache

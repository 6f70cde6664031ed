// WriteQueue: the bounded queue of blocks waiting for the SSD tier's writer thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/hash.h"
#include "store/block.h"

namespace unicache {

// A FIFO of pending writes with a bound on blocks and bytes. Producers never block: Push()
// refuses when full. A queued block stays readable through Find() until the writer reports it
// Done(), so a block evicted from RAM before it reaches the SSD is not lost to readers. Each
// push gets a sequence number; Flush() waits for the numbers handed out before it. Thread-safe;
// designed for one consumer thread.
class WriteQueue {
 public:
  enum class PushResult { kQueued, kAlreadyQueued, kFull };

  // A popped write. `seq` identifies this push of `key`.
  struct Item {
    Key128 key;
    BlockRef block;
    uint64_t seq;
  };

  // At most `max_blocks` entries and `max_bytes` bytes are queued, except that one block of any
  // size is accepted into an empty queue.
  WriteQueue(uint64_t max_blocks, uint64_t max_bytes);

  // Queues `block` for `key` unless the key is queued already or the queue is full.
  PushResult Push(const Key128& key, BlockRef block);

  // Blocks until a write is available and returns it, or returns nullopt once Stop() was called
  // and the queue is drained.
  std::optional<Item> Pop();

  // Marks `item` written (or failed). Returns false when the key was cancelled or pushed again
  // after `item` was popped, i.e. the file just written must not be kept.
  bool Done(const Item& item);

  // Returns the queued block for `key`, or null.
  BlockRef Find(const Key128& key) const;

  // Forgets a queued write of `key`; an in-flight one is then reported by Done() as stale.
  void Cancel(const Key128& key);

  // Blocks until every write pushed before the call is done, cancelled or dropped.
  void Flush();

  // Makes Pop() return nullopt once the queue is drained.
  void Stop();

  uint64_t size() const;
  uint64_t dropped() const;

 private:
  struct Pending {
    BlockRef block;
    uint64_t seq;
  };
  // Advances the completed sequence number and wakes Flush() callers. REQUIRES: mu_ held.
  void CompleteLocked(uint64_t seq);

  const uint64_t max_blocks_, max_bytes_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::pair<Key128, uint64_t>> order_;  // GUARDED_BY(mu_); (key, seq), FIFO
  std::unordered_map<Key128, Pending> pending_;    // GUARDED_BY(mu_); queued or in flight
  uint64_t bytes_ = 0;                             // GUARDED_BY(mu_); of pending_
  uint64_t last_seq_ = 0, completed_seq_ = 0;      // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;                           // GUARDED_BY(mu_)
  bool stopping_ = false;                          // GUARDED_BY(mu_)
};

}  // namespace unicache

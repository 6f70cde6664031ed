// S3Fifo: the S3-FIFO eviction policy (Yang et al., SOSP '23), byte-weighted and generic over
// the key type, so the block store's tiers and the KV cache's per-namespace quotas share it.
#pragma once

#include <cassert>
#include <cstdint>
#include <functional>
#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

namespace unicache {

// Decides which entries to evict; it holds keys and weights (bytes), never values. Three FIFO
// queues: `small` (about 10% of the capacity) takes new keys; a key accessed while in small moves
// to `main` when it reaches the head, otherwise it is evicted and remembered in `ghost` (keys
// only). A key inserted again while in ghost goes straight to main. Main is a FIFO with 2-bit
// access counts (a CLOCK): a key at the head with a non-zero count is re-queued with count - 1.
// One-time scans thus pass through small without displacing the re-read working set in main.
//
// Pinned keys (Pin() count > 0) are never evicted: at a queue head they are re-queued. Insert()
// refuses a key that could only fit by evicting pinned bytes, so the capacity is never exceeded.
//
// Not thread-safe (thread-compatible): the owner serializes calls, e.g. under its tier lock.
template <typename Key, typename Hash = std::hash<Key>>
class S3Fifo {
 public:
  // `capacity` in bytes; `small_ratio` is the small queue's share of it.
  explicit S3Fifo(uint64_t capacity, double small_ratio = 0.1)
      : capacity_(capacity), small_target_(static_cast<uint64_t>(capacity * small_ratio)) {}

  S3Fifo(const S3Fifo&) = delete;
  S3Fifo& operator=(const S3Fifo&) = delete;

  // Adds `key` with `weight` bytes, first evicting entries until it fits; appends the evicted
  // keys to `*evicted` (may be null). Returns false, changing nothing, when the key is already
  // present or cannot fit (weight > capacity, or pinned bytes leave too little room).
  bool Insert(const Key& key, uint64_t weight, std::vector<std::pair<Key, uint64_t>>* evicted) {
    if (entries_.contains(key) || weight > capacity_ || pinned_bytes_ + weight > capacity_) {
      return false;
    }
    while (bytes_ + weight > capacity_) EvictOne(evicted);
    Queue q = Queue::kSmall;
    if (auto g = ghost_index_.find(key); g != ghost_index_.end()) {
      ghost_bytes_ -= g->second.weight;
      ghost_.erase(g->second.pos);
      ghost_index_.erase(g);
      q = Queue::kMain;
    }
    Push(key, Entry{weight, 0, 0, q, {}});
    bytes_ += weight;
    return true;
  }

  // Records an access: returns false when `key` is absent.
  bool Access(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    if (it->second.freq < kMaxFreq) ++it->second.freq;
    return true;
  }

  // Removes `key` (also from ghost, so a deleted key does not come back as "hot"). Returns its
  // weight, or 0 when absent. Removing a pinned key is allowed and drops its pins.
  uint64_t Erase(const Key& key) {
    if (auto g = ghost_index_.find(key); g != ghost_index_.end()) {
      ghost_bytes_ -= g->second.weight;
      ghost_.erase(g->second.pos);
      ghost_index_.erase(g);
    }
    auto it = entries_.find(key);
    if (it == entries_.end()) return 0;
    uint64_t w = it->second.weight;
    if (it->second.pins > 0) pinned_bytes_ -= w;
    Unlink(it->second);
    bytes_ -= w;
    entries_.erase(it);
    return w;
  }

  // Increments the pin count of `key`; returns false when absent.
  bool Pin(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    if (it->second.pins++ == 0) pinned_bytes_ += it->second.weight;
    return true;
  }

  // Decrements the pin count of `key`. REQUIRES: the key is present and pinned.
  void Unpin(const Key& key) {
    auto it = entries_.find(key);
    assert(it != entries_.end() && it->second.pins > 0);
    if (--it->second.pins == 0) pinned_bytes_ -= it->second.weight;
  }

  // Evicts entries until at most `target` bytes remain or only pinned entries are left.
  void EvictTo(uint64_t target, std::vector<std::pair<Key, uint64_t>>* evicted) {
    while (bytes_ > target && bytes_ > pinned_bytes_) EvictOne(evicted);
  }

  // Returns the weight of `key`, or 0 when absent.
  uint64_t Weight(const Key& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? 0 : it->second.weight;
  }

  bool Contains(const Key& key) const { return entries_.contains(key); }
  bool InGhost(const Key& key) const { return ghost_index_.contains(key); }
  bool InMain(const Key& key) const {
    auto it = entries_.find(key);
    return it != entries_.end() && it->second.queue == Queue::kMain;
  }
  uint64_t bytes() const { return bytes_; }
  uint64_t capacity() const { return capacity_; }
  uint64_t pinned_bytes() const { return pinned_bytes_; }
  size_t size() const { return entries_.size(); }

 private:
  enum class Queue : uint8_t { kSmall, kMain };
  static constexpr uint8_t kMaxFreq = 3;

  struct Entry {
    uint64_t weight;
    uint8_t freq;
    uint32_t pins;
    Queue queue;
    typename std::list<Key>::iterator pos;
  };
  struct GhostEntry {
    uint64_t weight;
    typename std::list<Key>::iterator pos;
  };

  std::list<Key>& ListOf(Queue q) { return q == Queue::kSmall ? small_ : main_; }

  void Push(const Key& key, Entry e) {
    auto& list = ListOf(e.queue);
    list.push_back(key);
    e.pos = std::prev(list.end());
    if (e.queue == Queue::kSmall) small_bytes_ += e.weight;
    entries_.insert_or_assign(key, e);
  }

  void Unlink(Entry& e) {
    if (e.queue == Queue::kSmall) small_bytes_ -= e.weight;
    ListOf(e.queue).erase(e.pos);
  }

  // Moves the entry to the tail of `q`.
  void Requeue(Entry& e, Queue q) {
    auto& from = ListOf(e.queue);
    auto& to = ListOf(q);
    if (e.queue == Queue::kSmall) small_bytes_ -= e.weight;
    if (q == Queue::kSmall) small_bytes_ += e.weight;
    to.splice(to.end(), from, e.pos);
    e.queue = q;
  }

  // Evicts exactly one unpinned entry. REQUIRES: bytes_ > pinned_bytes_ (one exists).
  void EvictOne(std::vector<std::pair<Key, uint64_t>>* evicted) {
    assert(bytes_ > pinned_bytes_);
    for (;;) {
      bool from_small = !small_.empty() && (small_bytes_ >= small_target_ || main_.empty());
      Key key = from_small ? small_.front() : main_.front();
      Entry& e = entries_.find(key)->second;
      if (from_small) {
        if (e.freq > 0 || e.pins > 0) {
          e.freq = 0;
          Requeue(e, Queue::kMain);
          continue;
        }
        AddGhost(key, e.weight);
      } else if (e.freq > 0 || e.pins > 0) {
        if (e.freq > 0) --e.freq;
        Requeue(e, Queue::kMain);
        continue;
      }
      uint64_t w = e.weight;
      Unlink(e);
      entries_.erase(key);
      bytes_ -= w;
      if (evicted != nullptr) evicted->emplace_back(std::move(key), w);
      return;
    }
  }

  // Remembers an evicted key; ghost holds at most the main queue's share of the capacity.
  void AddGhost(const Key& key, uint64_t weight) {
    uint64_t limit = capacity_ - small_target_;
    if (weight > limit) return;
    while (ghost_bytes_ + weight > limit) {
      auto g = ghost_index_.find(ghost_.front());
      ghost_bytes_ -= g->second.weight;
      ghost_index_.erase(g);
      ghost_.pop_front();
    }
    ghost_.push_back(key);
    ghost_index_.insert_or_assign(key, GhostEntry{weight, std::prev(ghost_.end())});
    ghost_bytes_ += weight;
  }

  const uint64_t capacity_;
  const uint64_t small_target_;
  uint64_t bytes_ = 0, small_bytes_ = 0, pinned_bytes_ = 0, ghost_bytes_ = 0;
  std::list<Key> small_, main_, ghost_;  // head = next to examine
  std::unordered_map<Key, Entry, Hash> entries_;
  std::unordered_map<Key, GhostEntry, Hash> ghost_index_;
};

}  // namespace unicache

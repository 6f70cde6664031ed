#include "store/ram_tier.h"

#include <utility>
#include <vector>

namespace unicache {

RamTier::RamTier(uint64_t capacity, Gauge* bytes_gauge, Counter* evictions)
    : capacity_(capacity),
      bytes_gauge_(bytes_gauge),
      evictions_counter_(evictions),
      policy_(capacity) {}

BlockRef RamTier::Lookup(const Key128& key) {
  std::lock_guard lock(mu_);
  auto it = blocks_.find(key);
  if (it == blocks_.end()) return nullptr;
  policy_.Access(key);
  return it->second;
}

bool RamTier::Insert(const Key128& key, BlockRef block) {
  std::vector<std::pair<Key128, uint64_t>> evicted;
  std::vector<BlockRef> released;  // freed after the lock is dropped
  {
    std::lock_guard lock(mu_);
    if (!policy_.Insert(key, block->size(), &evicted)) return false;
    blocks_.emplace(key, std::move(block));
    released.reserve(evicted.size());
    for (const auto& [k, w] : evicted) {
      auto it = blocks_.find(k);
      released.push_back(std::move(it->second));
      blocks_.erase(it);
    }
    if (bytes_gauge_ != nullptr) bytes_gauge_->Set(static_cast<int64_t>(policy_.bytes()));
  }
  if (!evicted.empty()) {
    evictions_.fetch_add(evicted.size(), std::memory_order_relaxed);
    if (evictions_counter_ != nullptr) evictions_counter_->Inc(evicted.size());
  }
  return true;
}

bool RamTier::Erase(const Key128& key) {
  BlockRef released;
  std::lock_guard lock(mu_);
  auto it = blocks_.find(key);
  if (it == blocks_.end()) return false;
  released = std::move(it->second);
  blocks_.erase(it);
  policy_.Erase(key);
  if (bytes_gauge_ != nullptr) bytes_gauge_->Set(static_cast<int64_t>(policy_.bytes()));
  return true;
}

bool RamTier::Contains(const Key128& key) const {
  std::lock_guard lock(mu_);
  return blocks_.contains(key);
}

uint64_t RamTier::bytes() const {
  std::lock_guard lock(mu_);
  return policy_.bytes();
}

uint64_t RamTier::blocks() const {
  std::lock_guard lock(mu_);
  return blocks_.size();
}

}  // namespace unicache

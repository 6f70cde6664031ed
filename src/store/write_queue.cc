#include "store/write_queue.h"

#include <utility>

namespace unicache {

WriteQueue::WriteQueue(uint64_t max_blocks, uint64_t max_bytes)
    : max_blocks_(max_blocks), max_bytes_(max_bytes) {}

WriteQueue::PushResult WriteQueue::Push(const Key128& key, BlockRef block) {
  std::lock_guard lock(mu_);
  if (pending_.contains(key)) return PushResult::kAlreadyQueued;
  bool empty = order_.empty() && pending_.empty();
  if (!empty && (order_.size() >= max_blocks_ || bytes_ + block->size() > max_bytes_)) {
    ++dropped_;
    return PushResult::kFull;
  }
  uint64_t seq = ++last_seq_;
  bytes_ += block->size();
  pending_.emplace(key, Pending{std::move(block), seq});
  order_.emplace_back(key, seq);
  work_cv_.notify_one();
  return PushResult::kQueued;
}

std::optional<WriteQueue::Item> WriteQueue::Pop() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return !order_.empty() || stopping_; });
    if (order_.empty()) return std::nullopt;  // stopping and drained
    auto [key, seq] = order_.front();
    order_.pop_front();
    auto it = pending_.find(key);
    if (it != pending_.end() && it->second.seq == seq) return Item{key, it->second.block, seq};
    CompleteLocked(seq);  // cancelled before it was popped
  }
}

bool WriteQueue::Done(const Item& item) {
  std::lock_guard lock(mu_);
  CompleteLocked(item.seq);
  auto it = pending_.find(item.key);
  if (it == pending_.end() || it->second.seq != item.seq) return false;
  bytes_ -= it->second.block->size();
  pending_.erase(it);
  return true;
}

BlockRef WriteQueue::Find(const Key128& key) const {
  std::lock_guard lock(mu_);
  auto it = pending_.find(key);
  return it == pending_.end() ? nullptr : it->second.block;
}

void WriteQueue::Cancel(const Key128& key) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  bytes_ -= it->second.block->size();
  pending_.erase(it);
}

void WriteQueue::Flush() {
  std::unique_lock lock(mu_);
  uint64_t target = last_seq_;
  done_cv_.wait(lock, [&] { return completed_seq_ >= target; });
}

void WriteQueue::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  work_cv_.notify_all();
}

uint64_t WriteQueue::size() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

uint64_t WriteQueue::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void WriteQueue::CompleteLocked(uint64_t seq) {
  if (seq > completed_seq_) completed_seq_ = seq;
  done_cv_.notify_all();
}

}  // namespace unicache

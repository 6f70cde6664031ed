#include "server/objects/metadata_cache.h"

namespace unicache {

MetadataCache::MetadataCache(std::chrono::milliseconds ttl, size_t max_entries,
                             std::chrono::milliseconds stale_window)
    : ttl_(ttl), max_entries_(max_entries == 0 ? 1 : max_entries), stale_window_(stale_window) {}

bool MetadataCache::PastStaleWindow(std::chrono::steady_clock::time_point now,
                                    std::chrono::steady_clock::time_point expires) const {
  // In milliseconds, so that a window of milliseconds::max() (forever) cannot overflow.
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - expires) >= stale_window_;
}

std::string MetadataCache::KeyOf(const std::string& origin, const std::string& path) {
  std::string key = origin;
  key.push_back('\0');
  key += path;
  return key;
}

std::optional<ObjectInfo> MetadataCache::Get(const std::string& origin, const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(KeyOf(origin, path));
  if (it == entries_.end()) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  if (now < it->second.expires) return it->second.info;
  if (PastStaleWindow(now, it->second.expires)) entries_.erase(it);  // past any use
  return std::nullopt;
}

std::optional<ObjectInfo> MetadataCache::GetStale(const std::string& origin,
                                                  const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(KeyOf(origin, path));
  if (it == entries_.end()) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  if (now >= it->second.expires && PastStaleWindow(now, it->second.expires)) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.info;
}

void MetadataCache::Put(const std::string& origin, const ObjectInfo& info) {
  auto now = std::chrono::steady_clock::now();
  auto expires =
      ttl_ == std::chrono::milliseconds::max() || ttl_ > std::chrono::hours(24 * 365 * 100)
          ? std::chrono::steady_clock::time_point::max()
          : now + ttl_;
  std::string key = KeyOf(origin, info.path);
  std::lock_guard lock(mu_);
  auto [it, inserted] = entries_.insert_or_assign(key, Entry{info, expires});
  (void)it;
  if (inserted) order_.push_back(std::move(key));
  while (entries_.size() > max_entries_ && !order_.empty()) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  // Keys invalidated earlier leave stale names in order_; compact when it doubles.
  if (order_.size() > 2 * max_entries_) {
    std::deque<std::string> live;
    for (auto& k : order_) {
      if (entries_.count(k)) live.push_back(std::move(k));
    }
    order_.swap(live);
  }
}

void MetadataCache::Invalidate(const std::string& origin, const std::string& path) {
  std::lock_guard lock(mu_);
  entries_.erase(KeyOf(origin, path));
}

size_t MetadataCache::Size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace unicache

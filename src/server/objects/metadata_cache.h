// MetadataCache: object metadata (size, version) per (origin, path), kept for a TTL, and past it
// for a stale window in which a failed revalidation may still use it (stale-if-error).
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "origin/origin.h"

namespace unicache {

// Bounded map from "origin\0path" to ObjectInfo with expiry. A TTL of milliseconds::max() keeps
// entries until they are pushed out by the bound (immutable origins). An expired entry is kept
// `stale_window` longer for GetStale(). Thread-safe.
class MetadataCache {
 public:
  MetadataCache(std::chrono::milliseconds ttl, size_t max_entries,
                std::chrono::milliseconds stale_window = std::chrono::milliseconds(0));

  // Returns the entry when present and not expired.
  std::optional<ObjectInfo> Get(const std::string& origin, const std::string& path);
  // Returns the entry when it has expired less than the stale window ago (or is fresh).
  std::optional<ObjectInfo> GetStale(const std::string& origin, const std::string& path);
  // Stores `info` (replacing any previous entry).
  void Put(const std::string& origin, const ObjectInfo& info);
  // Drops the entry, e.g. after the origin reported the object changed.
  void Invalidate(const std::string& origin, const std::string& path);
  size_t Size() const;

 private:
  struct Entry {
    ObjectInfo info;
    std::chrono::steady_clock::time_point expires;
  };
  static std::string KeyOf(const std::string& origin, const std::string& path);
  // Returns whether an entry that expired at `expires` is past the stale window at `now`.
  bool PastStaleWindow(std::chrono::steady_clock::time_point now,
                       std::chrono::steady_clock::time_point expires) const;

  const std::chrono::milliseconds ttl_;
  const size_t max_entries_;
  const std::chrono::milliseconds stale_window_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // insertion order, for the bound; may hold stale keys
};

}  // namespace unicache

// MetadataCache: object metadata (size, version) per (origin, path), kept for a TTL.
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
// entries until they are pushed out by the bound (immutable origins). Thread-safe.
class MetadataCache {
 public:
  MetadataCache(std::chrono::milliseconds ttl, size_t max_entries);

  // Returns the entry when present and not expired.
  std::optional<ObjectInfo> Get(const std::string& origin, const std::string& path);
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

  const std::chrono::milliseconds ttl_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // insertion order, for the bound; may hold stale keys
};

}  // namespace unicache

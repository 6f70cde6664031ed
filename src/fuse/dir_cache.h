// DirCache: directory listings of the mounted origin, read with Client::List (delimiter "/",
// every page) and kept for the metadata TTL, plus entries this mount created itself
// (write-through files and mkdir'ed directories) that the origin does not list yet. While the
// origin cannot be listed (an outage), an expired listing is used for a stale window more.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "fuse/inode_table.h"
#include "unicache/client.h"

namespace unicache::fuse {

struct DirEntry {
  std::string name;
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string version;
};

// One directory, entries sorted by name (a name is unique: when the origin has both an object
// "x" and objects below "x/", the directory wins).
struct DirListing {
  std::vector<DirEntry> entries;
  Clock::time_point fetched;
  // Returns the entry called `name`, or nullptr.
  const DirEntry* Find(const std::string& name) const;
};

// Thread-safe. Listing requests run without the lock held, so two threads may list the same
// stale directory at once; the later result wins, which is harmless.
class DirCache {
 public:
  // `client` is borrowed and must outlive the cache. `ttl` Duration::max() caches forever.
  // `stale_if_error`: how long past the TTL a listing is still used when listing again fails
  // for an outage (Unavailable, DeadlineExceeded); 0 never. `now` is the clock (tests pass a
  // fake one).
  DirCache(Client& client, std::string origin, std::chrono::milliseconds ttl,
           std::chrono::milliseconds stale_if_error = std::chrono::milliseconds(0),
           std::function<Clock::time_point()> now = &Clock::now);

  // Returns the listing of directory `dir_key`, listing the origin when it is not cached or
  // older than the TTL (or the expired listing, within the stale window, when that fails for an
  // outage). A directory that has no objects lists as empty.
  Result<std::shared_ptr<const DirListing>> Get(const std::string& dir_key);

  // Returns the entry `name` of directory `dir_key`, nullopt when there is none.
  Result<std::optional<DirEntry>> Find(const std::string& dir_key, const std::string& name);

  // Adds (or replaces) an entry this mount created; it is listed, merged with the origin's
  // listing, until the origin lists the name itself (an mkdir'ed directory stays local until a
  // file is written below it).
  void AddLocal(const std::string& dir_key, const DirEntry& entry);

  // Drops the cached listing of `dir_key` (local entries stay).
  void Invalidate(const std::string& dir_key);

  // Returns how many List requests the cache has sent (for tests and debugging).
  uint64_t list_requests() const;

 private:
  Result<std::vector<DirEntry>> ListOrigin(const std::string& dir_key);
  // Merges local_[dir_key] into `listing` and drops local entries the origin now lists.
  // REQUIRES: mu_ held.
  void MergeLocalLocked(const std::string& dir_key, DirListing& listing);
  bool FreshLocked(const DirListing& listing) const;

  Client& client_;
  const std::string origin_;
  const std::chrono::milliseconds ttl_;
  const std::chrono::milliseconds stale_if_error_;
  const std::function<Clock::time_point()> now_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const DirListing>> cache_;  // guarded by mu_
  std::map<std::string, std::map<std::string, DirEntry>> local_;    // guarded by mu_
  uint64_t list_requests_ = 0;                                      // guarded by mu_
};

}  // namespace unicache::fuse

#include "fuse/dir_cache.h"

#include <algorithm>

#include "fuse/path_map.h"

namespace unicache::fuse {

const DirEntry* DirListing::Find(const std::string& name) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), name,
                             [](const DirEntry& e, const std::string& n) { return e.name < n; });
  return it != entries.end() && it->name == name ? &*it : nullptr;
}

DirCache::DirCache(Client& client, std::string origin, std::chrono::milliseconds ttl,
                   std::chrono::milliseconds stale_if_error, std::function<Clock::time_point()> now)
    : client_(client),
      origin_(std::move(origin)),
      ttl_(ttl),
      stale_if_error_(stale_if_error),
      now_(std::move(now)) {}

bool DirCache::FreshLocked(const DirListing& listing) const {
  if (ttl_ == std::chrono::milliseconds::max()) return true;
  return now_() - listing.fetched < ttl_;
}

Result<std::vector<DirEntry>> DirCache::ListOrigin(const std::string& dir_key) {
  std::map<std::string, DirEntry> by_name;
  std::string token;
  do {
    {
      std::lock_guard lock(mu_);
      ++list_requests_;
    }
    ASSIGN_OR_RETURN(ListResult page, client_.List(origin_, dir_key, "/", token));
    for (const ListEntry& e : page.entries) {
      bool is_dir = e.is_prefix || (!e.path.empty() && e.path.back() == '/');
      std::string name = NameBelow(dir_key, e.path);
      if (name.empty()) continue;  // the directory's own marker object, or an unusable name
      auto it = by_name.find(name);
      if (it != by_name.end() && it->second.is_dir) continue;  // a directory hides a file
      DirEntry d;
      d.name = std::move(name);
      d.is_dir = is_dir;
      if (!is_dir) {
        d.size = e.size;
        d.mtime_ms = e.mtime_ms;
        d.version = e.version;
      }
      by_name[d.name] = std::move(d);
    }
    token = page.next_token;
  } while (!token.empty());
  std::vector<DirEntry> out;
  out.reserve(by_name.size());
  for (auto& [name, e] : by_name) out.push_back(std::move(e));
  return out;
}

void DirCache::MergeLocalLocked(const std::string& dir_key, DirListing& listing) {
  auto it = local_.find(dir_key);
  if (it == local_.end()) return;
  std::vector<DirEntry> extra;
  for (auto e = it->second.begin(); e != it->second.end();) {
    if (listing.Find(e->first) != nullptr) {
      e = it->second.erase(e);  // the origin lists it now: its data is authoritative
    } else {
      extra.push_back(e->second);
      ++e;
    }
  }
  if (it->second.empty()) local_.erase(it);
  if (extra.empty()) return;
  for (DirEntry& e : extra) listing.entries.push_back(std::move(e));
  std::sort(listing.entries.begin(), listing.entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
}

Result<std::shared_ptr<const DirListing>> DirCache::Get(const std::string& dir_key) {
  std::shared_ptr<const DirListing> expired;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(dir_key);
    if (it != cache_.end() && FreshLocked(*it->second)) return it->second;
    if (it != cache_.end()) expired = it->second;
  }
  Clock::time_point started = now_();
  Result<std::vector<DirEntry>> entries = ListOrigin(dir_key);
  if (!entries.ok()) {
    const StatusCode code = entries.status().code();
    if ((code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded) &&
        expired != nullptr) {
      // In milliseconds, so that a window of milliseconds::max() (forever) cannot overflow.
      const auto age =
          std::chrono::duration_cast<std::chrono::milliseconds>(started - expired->fetched);
      if (age - ttl_ < stale_if_error_) return expired;  // stale-if-error: the last listing
    }
    return entries.status();
  }
  auto listing = std::make_shared<DirListing>();
  listing->entries = std::move(entries).value();
  listing->fetched = started;
  std::lock_guard lock(mu_);
  MergeLocalLocked(dir_key, *listing);
  cache_[dir_key] = listing;
  return std::shared_ptr<const DirListing>(listing);
}

Result<std::optional<DirEntry>> DirCache::Find(const std::string& dir_key,
                                               const std::string& name) {
  ASSIGN_OR_RETURN(std::shared_ptr<const DirListing> listing, Get(dir_key));
  const DirEntry* e = listing->Find(name);
  if (e == nullptr) return std::optional<DirEntry>();
  return std::optional<DirEntry>(*e);
}

void DirCache::AddLocal(const std::string& dir_key, const DirEntry& entry) {
  std::lock_guard lock(mu_);
  local_[dir_key][entry.name] = entry;
  auto it = cache_.find(dir_key);
  if (it == cache_.end()) return;
  // Copy-on-write: readers may hold the old listing.
  auto updated = std::make_shared<DirListing>(*it->second);
  auto pos = std::lower_bound(updated->entries.begin(), updated->entries.end(), entry.name,
                              [](const DirEntry& e, const std::string& n) { return e.name < n; });
  if (pos != updated->entries.end() && pos->name == entry.name) {
    *pos = entry;
  } else {
    updated->entries.insert(pos, entry);
  }
  it->second = std::move(updated);
}

void DirCache::Invalidate(const std::string& dir_key) {
  std::lock_guard lock(mu_);
  cache_.erase(dir_key);
}

uint64_t DirCache::list_requests() const {
  std::lock_guard lock(mu_);
  return list_requests_;
}

}  // namespace unicache::fuse

// FakeClient: an in-memory unicache::Client for the FUSE unit tests. Objects live in a map per
// origin; List honours prefix, delimiter "/" and paging; Write replaces an object with a new
// version. Thread-safe (one mutex).
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "unicache/client.h"

namespace unicache::fuse {

class FakeClient : public Client {
 public:
  // Adds or replaces origin/path with `data`.
  void Put(const std::string& origin, const std::string& path, const std::string& data) {
    std::lock_guard lock(mu_);
    Object& o = origins_[origin][path];
    o.data = data;
    o.version = "v" + std::to_string(++versions_);
    o.mtime_ms = 1700000000000 + static_cast<int64_t>(versions_);
  }
  void AddOrigin(const std::string& origin) {
    std::lock_guard lock(mu_);
    origins_[origin];
  }
  std::string Get(const std::string& origin, const std::string& path) {
    std::lock_guard lock(mu_);
    return origins_[origin][path].data;
  }
  // Makes every call fail with `status` (Ok to heal).
  void SetFailure(Status status) {
    std::lock_guard lock(mu_);
    failure_ = std::move(status);
  }
  int list_calls() {
    std::lock_guard lock(mu_);
    return list_calls_;
  }
  size_t page_size = 1000;

  Result<ObjectStat> Stat(const std::string& origin, const std::string& path) override {
    std::lock_guard lock(mu_);
    if (!failure_.ok()) return failure_;
    const Object* o = FindLocked(origin, path);
    if (o == nullptr) return NotFound(origin + "/" + path);
    return StatOf(path, *o);
  }

  Result<size_t> Read(const std::string& origin, const ObjectStat& object, uint64_t offset,
                      std::span<std::byte> dst) override {
    std::lock_guard lock(mu_);
    if (!failure_.ok()) return failure_;
    const Object* o = FindLocked(origin, object.path);
    if (o == nullptr) return NotFound(origin + "/" + object.path);
    if (o->version != object.version) return PreconditionFailed("changed: " + object.path);
    if (offset >= o->data.size()) return size_t{0};
    size_t n = std::min<size_t>(dst.size(), o->data.size() - offset);
    std::memcpy(dst.data(), o->data.data() + offset, n);
    return n;
  }

  std::unique_ptr<ObjectReader> Open(const std::string& origin, const ObjectStat& object) override {
    return std::make_unique<Reader>(*this, origin, object);
  }

  Result<ListResult> List(const std::string& origin, const std::string& prefix,
                          const std::string& delimiter, const std::string& token,
                          size_t max_keys) override {
    std::lock_guard lock(mu_);
    ++list_calls_;
    if (!failure_.ok()) return failure_;
    auto org = origins_.find(origin);
    if (org == origins_.end()) return NotFound("no origin " + origin);
    std::vector<ListEntry> all;
    std::set<std::string> prefixes;
    for (const auto& [path, o] : org->second) {
      if (path.compare(0, prefix.size(), prefix) != 0) continue;
      size_t cut = delimiter.empty() ? std::string::npos : path.find(delimiter, prefix.size());
      if (cut != std::string::npos) {
        prefixes.insert(path.substr(0, cut + 1));
        continue;
      }
      ListEntry e;
      e.path = path;
      e.size = o.data.size();
      e.version = o.version;
      e.mtime_ms = o.mtime_ms;
      all.push_back(e);
    }
    for (const std::string& p : prefixes) {
      ListEntry e;
      e.path = p;
      e.is_prefix = true;
      all.push_back(e);
    }
    std::sort(all.begin(), all.end(),
              [](const ListEntry& a, const ListEntry& b) { return a.path < b.path; });
    size_t start = token.empty() ? 0 : std::stoul(token);
    size_t limit = std::min(max_keys, page_size);
    ListResult r;
    for (size_t i = start; i < all.size() && r.entries.size() < limit; ++i) {
      r.entries.push_back(all[i]);
    }
    if (start + r.entries.size() < all.size()) r.next_token = std::to_string(start + limit);
    return r;
  }

  Result<ObjectStat> Write(const std::string& origin, const std::string& path,
                           std::span<const std::byte> data) override {
    {
      std::lock_guard lock(mu_);
      if (!failure_.ok()) return failure_;
    }
    Put(origin, path, std::string(reinterpret_cast<const char*>(data.data()), data.size()));
    return Stat(origin, path);
  }

  uint64_t block_size() const override { return 4 << 20; }

 private:
  struct Object {
    std::string data;
    std::string version;
    int64_t mtime_ms = 0;
  };

  class Reader : public ObjectReader {
   public:
    Reader(FakeClient& c, std::string origin, ObjectStat stat)
        : c_(c), origin_(std::move(origin)), stat_(std::move(stat)) {}
    Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> dst) override {
      return c_.Read(origin_, stat_, offset, dst);
    }
    const ObjectStat& stat() const override { return stat_; }

   private:
    FakeClient& c_;
    std::string origin_;
    ObjectStat stat_;
  };

  const Object* FindLocked(const std::string& origin, const std::string& path) const {
    auto org = origins_.find(origin);
    if (org == origins_.end()) return nullptr;
    auto it = org->second.find(path);
    return it == org->second.end() ? nullptr : &it->second;
  }
  static ObjectStat StatOf(const std::string& path, const Object& o) {
    ObjectStat s;
    s.path = path;
    s.size = o.data.size();
    s.version = o.version;
    s.mtime_ms = o.mtime_ms;
    return s;
  }

  std::mutex mu_;
  std::map<std::string, std::map<std::string, Object>> origins_;
  uint64_t versions_ = 0;
  int list_calls_ = 0;
  Status failure_;
};

}  // namespace unicache::fuse

// KvStore: one node's share of the inference KV cache. Values live in RAM as shared immutable
// buffers, grouped in namespaces, each with a byte quota enforced by its own S3-FIFO.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "kv/kv_config.h"
#include "store/s3fifo.h"

namespace unicache {

// A published value: immutable and shared with readers, so a reader keeps its bytes alive even
// if the key is evicted or deleted meanwhile.
using KvValue = std::shared_ptr<const std::string>;

struct KvStoreOptions {
  std::vector<KvNamespaceConfig> namespaces;
  // Upper bound of all values on this node; 0 = the sum of the quotas. The quotas must fit in
  // it, so each namespace's quota is a guarantee, not a share of a pool.
  uint64_t ram_bytes = 0;
  MetricsRegistry* metrics = nullptr;  // borrowed; may be null
  // Runs a background thread that drops expired values and leases (every `sweep_interval`).
  bool sweeper = true;
  std::chrono::milliseconds sweep_interval{1000};
  // Returns the current time; steady_clock::now by default. Tests substitute a fake clock.
  std::function<std::chrono::steady_clock::time_point()> now;
};

struct KvNamespaceStats {
  std::string name;
  uint64_t quota_bytes = 0;
  uint64_t bytes = 0;
  uint64_t pinned_bytes = 0;
  uint64_t keys = 0;
  uint64_t leases = 0;
  uint64_t hits = 0, misses = 0, puts = 0, evictions = 0, expirations = 0;
};

struct KvPutResult {
  bool created = false;  // false: the key already held a value, which stays (values are immutable)
  uint64_t etag = 0;
};

struct KvGetResult {
  KvValue value;
  uint64_t etag = 0;
};

// Semantics:
// - Publish on complete: Put() takes a whole value; it is visible to readers only once inserted,
//   under the namespace lock, so no reader sees a partial value and a failed Put leaves nothing.
// - Immutable values: a Put to a key that holds a live value keeps the first value (KV blocks
//   are content-addressed, so both are the same bytes) and refreshes nothing.
// - Eviction: S3-FIFO within the namespace quota; an evicted or expired key is a clean miss.
//   Put fails with ResourceExhausted only when the value cannot fit even after evicting every
//   unpinned value (bigger than the quota, or the rest is held by leases).
// - Leases: PrefixMatch(lease) pins the matched values until Release() or the lease expires;
//   pinned values are neither evicted nor expired by TTL.
// Thread-safe: one mutex per namespace; no call holds two.
class KvStore {
 public:
  // Checks the namespaces (unique names, quotas within ram_bytes) and starts the sweeper.
  static Result<std::unique_ptr<KvStore>> Create(KvStoreOptions options);
  ~KvStore();
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // Returns the namespace's configuration, or nullptr when unknown.
  const KvNamespaceConfig* FindNamespace(std::string_view ns) const;

  // Publishes `value` under `key`. `ttl` 0 = the namespace default; negative = no expiry.
  // NotFound (unknown namespace), InvalidArgument (key, size), ResourceExhausted (quota).
  Result<KvPutResult> Put(std::string_view ns, std::string_view key, KvValue value,
                          std::chrono::milliseconds ttl = std::chrono::milliseconds(0));
  // Returns the value; NotFound when the key is absent, expired or evicted.
  Result<KvGetResult> Get(std::string_view ns, std::string_view key);
  // Returns whether a live value is present (no access recorded: no side effects).
  Result<bool> Exists(std::string_view ns, std::string_view key);
  // Removes `key`; returns whether it was present.
  Result<bool> Delete(std::string_view ns, std::string_view key);
  // Returns how many leading `keys` are present, stopping at the first miss. With a non-empty
  // `lease_id` and a positive `lease_ttl`, pins the matched values under that lease id (adding
  // to a lease already known by that id).
  Result<size_t> PrefixMatch(std::string_view ns, std::span<const std::string> keys,
                             const std::string& lease_id = "",
                             std::chrono::milliseconds lease_ttl = std::chrono::milliseconds(0));
  // Drops lease `lease_id` in every namespace, unpinning its values; returns whether it existed.
  bool Release(const std::string& lease_id);
  // Returns up to `limit` keys of `ns` (no order).
  Result<std::vector<std::string>> Keys(std::string_view ns, size_t limit);

  std::vector<KvNamespaceStats> Stats() const;
  // Drops expired values and leases now (the sweeper calls this); returns values dropped.
  size_t Sweep();

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    KvValue value;
    Clock::time_point expires;  // Clock::time_point::max(): never
    uint32_t pins = 0;          // leases holding it (mirrors the policy's pin count)
    uint64_t etag = 0;
  };
  struct Lease {
    std::vector<std::string> keys;  // pinned keys (a key appears once per pin)
    Clock::time_point expires;
  };
  struct Namespace {
    explicit Namespace(KvNamespaceConfig c) : config(std::move(c)), policy(config.quota_bytes) {}
    const KvNamespaceConfig config;
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;                           // GUARDED_BY(mu)
    S3Fifo<std::string> policy;                                               // GUARDED_BY(mu)
    std::unordered_map<std::string, Lease> leases;                            // GUARDED_BY(mu)
    uint64_t hits = 0, misses = 0, puts = 0, evictions = 0, expirations = 0;  // GUARDED_BY(mu)
  };

  explicit KvStore(KvStoreOptions options);
  Result<Namespace*> Find(std::string_view ns) const;
  Clock::time_point Now() const { return options_.now ? options_.now() : Clock::now(); }
  // Returns the live entry of `key`, erasing it when expired; nullptr when absent.
  Entry* LiveLocked(Namespace& n, const std::string& key, Clock::time_point now);
  void EraseLocked(Namespace& n, const std::string& key);
  void ReleaseLocked(Namespace& n, Lease& lease);
  void SweepLoop();

  const KvStoreOptions options_;
  std::map<std::string, std::unique_ptr<Namespace>, std::less<>> namespaces_;
  std::atomic<uint64_t> next_etag_{1};

  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stopping_ = false;  // GUARDED_BY(sweep_mu_)
  std::thread sweeper_;
};

}  // namespace unicache

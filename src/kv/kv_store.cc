#include "kv/kv_store.h"

#include <algorithm>

namespace unicache {

KvStore::KvStore(KvStoreOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<KvStore>> KvStore::Create(KvStoreOptions options) {
  uint64_t total = 0;
  std::unique_ptr<KvStore> store(new KvStore(options));
  for (const KvNamespaceConfig& c : options.namespaces) {
    RETURN_IF_ERROR(ValidateKvNamespaceName(c.name));
    if (c.quota_bytes == 0) return InvalidArgument("namespace " + c.name + ": quota must be > 0");
    if (store->namespaces_.contains(c.name)) {
      return InvalidArgument("KV namespace '" + c.name + "' given twice");
    }
    total += c.quota_bytes;
    store->namespaces_.emplace(c.name, std::make_unique<Namespace>(c));
  }
  if (options.ram_bytes != 0 && total > options.ram_bytes) {
    return InvalidArgument("KV namespace quotas add up to " + std::to_string(total) +
                           " bytes, more than --kv-ram (" + std::to_string(options.ram_bytes) +
                           ")");
  }
  if (options.metrics != nullptr) {
    KvStore* raw = store.get();
    MetricsRegistry* m = options.metrics;
    m->AddCollector([raw, m] {
      for (const KvNamespaceStats& s : raw->Stats()) {
        Labels l{{"namespace", s.name}};
        m->GetGauge("unicache_kv_bytes", l, "Bytes of KV values held, by namespace.").Set(s.bytes);
        m->GetGauge("unicache_kv_quota_bytes", l, "KV namespace quota on this node.")
            .Set(s.quota_bytes);
        m->GetGauge("unicache_kv_keys", l, "KV values held, by namespace.").Set(s.keys);
        m->GetGauge("unicache_kv_pinned_bytes", l, "KV bytes held by leases.").Set(s.pinned_bytes);
      }
    });
  }
  if (options.sweeper) store->sweeper_ = std::thread([raw = store.get()] { raw->SweepLoop(); });
  return store;
}

KvStore::~KvStore() {
  {
    std::lock_guard lock(sweep_mu_);
    stopping_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void KvStore::SweepLoop() {
  std::unique_lock lock(sweep_mu_);
  while (!stopping_) {
    sweep_cv_.wait_for(lock, options_.sweep_interval);
    if (stopping_) break;
    lock.unlock();
    Sweep();
    lock.lock();
  }
}

const KvNamespaceConfig* KvStore::FindNamespace(std::string_view ns) const {
  auto it = namespaces_.find(ns);
  return it == namespaces_.end() ? nullptr : &it->second->config;
}

Result<KvStore::Namespace*> KvStore::Find(std::string_view ns) const {
  auto it = namespaces_.find(ns);
  if (it == namespaces_.end()) return NotFound("unknown KV namespace '" + std::string(ns) + "'");
  return it->second.get();
}

void KvStore::EraseLocked(Namespace& n, const std::string& key) {
  n.policy.Erase(key);
  n.entries.erase(key);
}

KvStore::Entry* KvStore::LiveLocked(Namespace& n, const std::string& key, Clock::time_point now) {
  auto it = n.entries.find(key);
  if (it == n.entries.end()) return nullptr;
  if (it->second.pins == 0 && it->second.expires <= now) {
    ++n.expirations;
    EraseLocked(n, key);
    return nullptr;
  }
  return &it->second;
}

Result<KvPutResult> KvStore::Put(std::string_view ns, std::string_view key, KvValue value,
                                 std::chrono::milliseconds ttl) {
  ASSIGN_OR_RETURN(Namespace * n, Find(ns));
  RETURN_IF_ERROR(ValidateKvKey(key));
  if (!value) return InvalidArgument("null value");
  RETURN_IF_ERROR(ValidateKvValueSize(value->size()));
  // Empty values still cost a byte of quota, so the policy can account for them.
  uint64_t weight = std::max<uint64_t>(1, value->size());
  if (weight > n->config.quota_bytes) {
    return ResourceExhausted("value of " + std::to_string(value->size()) +
                             " bytes exceeds the quota of namespace " + n->config.name + " (" +
                             std::to_string(n->config.quota_bytes) + " bytes)")
        .WithDetail(StatusDetail::kQuotaExceeded);
  }
  if (ttl.count() == 0) ttl = n->config.default_ttl;
  Clock::time_point now = Now();
  Clock::time_point expires = ttl.count() > 0 ? now + ttl : Clock::time_point::max();
  std::string k(key);
  std::vector<std::pair<std::string, uint64_t>> evicted;
  std::vector<KvValue> dropped;  // freed after the lock is released
  std::lock_guard lock(n->mu);
  if (Entry* e = LiveLocked(*n, k, now)) {
    n->policy.Access(k);
    return KvPutResult{false, e->etag};
  }
  if (!n->policy.Insert(k, weight, &evicted)) {
    return ResourceExhausted("namespace " + n->config.name +
                             " is full: " + std::to_string(n->policy.pinned_bytes()) +
                             " bytes are held by leases, quota " +
                             std::to_string(n->config.quota_bytes))
        .WithDetail(StatusDetail::kQuotaExceeded);
  }
  for (auto& [ek, w] : evicted) {
    auto it = n->entries.find(ek);
    if (it == n->entries.end()) continue;
    dropped.push_back(std::move(it->second.value));
    n->entries.erase(it);
    ++n->evictions;
  }
  uint64_t etag = next_etag_.fetch_add(1, std::memory_order_relaxed);
  n->entries.insert_or_assign(std::move(k), Entry{std::move(value), expires, 0, etag});
  ++n->puts;
  return KvPutResult{true, etag};
}

Result<KvGetResult> KvStore::Get(std::string_view ns, std::string_view key) {
  ASSIGN_OR_RETURN(Namespace * n, Find(ns));
  RETURN_IF_ERROR(ValidateKvKey(key));
  std::string k(key);
  std::lock_guard lock(n->mu);
  Entry* e = LiveLocked(*n, k, Now());
  if (e == nullptr) {
    ++n->misses;
    return NotFound("no such key");
  }
  ++n->hits;
  n->policy.Access(k);
  return KvGetResult{e->value, e->etag};
}

Result<bool> KvStore::Exists(std::string_view ns, std::string_view key) {
  ASSIGN_OR_RETURN(Namespace * n, Find(ns));
  RETURN_IF_ERROR(ValidateKvKey(key));
  std::string k(key);
  std::lock_guard lock(n->mu);
  auto it = n->entries.find(k);
  return it != n->entries.end() && (it->second.pins > 0 || it->second.expires > Now());
}

Result<bool> KvStore::Delete(std::string_view ns, std::string_view key) {
  ASSIGN_OR_RETURN(Namespace * n, Find(ns));
  RETURN_IF_ERROR(ValidateKvKey(key));
  std::string k(key);
  KvValue dropped;
  std::lock_guard lock(n->mu);
  auto it = n->entries.find(k);
  if (it == n->entries.end()) return false;
  dropped = std::move(it->second.value);
  EraseLocked(*n, k);  // drops its pins too; leases skip keys that are gone
  return true;
}

Result<size_t> KvStore::PrefixMatch(std::string_view ns, std::span<const std::string> keys,
                                    const std::string& lease_id,
                                    std::chrono::milliseconds lease_ttl) {
  ASSIGN_OR_RETURN(Namespace * n, Find(ns));
  for (const std::string& k : keys) RETURN_IF_ERROR(ValidateKvKey(k));
  bool lease = !lease_id.empty() && lease_ttl.count() > 0;
  Clock::time_point now = Now();
  std::lock_guard lock(n->mu);
  size_t matched = 0;
  Lease* l = nullptr;
  for (const std::string& k : keys) {
    Entry* e = LiveLocked(*n, k, now);
    if (e == nullptr) break;
    ++matched;
    if (!lease) continue;
    if (l == nullptr) {
      l = &n->leases[lease_id];
      l->expires = std::max(l->expires, now + lease_ttl);
    }
    n->policy.Pin(k);
    ++e->pins;
    l->keys.push_back(k);
  }
  return matched;
}

void KvStore::ReleaseLocked(Namespace& n, Lease& lease) {
  for (const std::string& k : lease.keys) {
    auto it = n.entries.find(k);
    if (it == n.entries.end() || it->second.pins == 0) continue;  // deleted (and maybe re-put)
    --it->second.pins;
    n.policy.Unpin(k);
  }
  lease.keys.clear();
}

bool KvStore::Release(const std::string& lease_id) {
  bool found = false;
  for (auto& [name, n] : namespaces_) {
    std::lock_guard lock(n->mu);
    auto it = n->leases.find(lease_id);
    if (it == n->leases.end()) continue;
    ReleaseLocked(*n, it->second);
    n->leases.erase(it);
    found = true;
  }
  return found;
}

Result<std::vector<std::string>> KvStore::Keys(std::string_view ns, size_t limit) {
  ASSIGN_OR_RETURN(Namespace * n, Find(ns));
  std::vector<std::string> out;
  Clock::time_point now = Now();
  std::lock_guard lock(n->mu);
  for (const auto& [k, e] : n->entries) {
    if (out.size() >= limit) break;
    if (e.pins > 0 || e.expires > now) out.push_back(k);
  }
  return out;
}

std::vector<KvNamespaceStats> KvStore::Stats() const {
  std::vector<KvNamespaceStats> out;
  for (const auto& [name, n] : namespaces_) {
    std::lock_guard lock(n->mu);
    KvNamespaceStats s;
    s.name = name;
    s.quota_bytes = n->config.quota_bytes;
    s.bytes = n->policy.bytes();
    s.pinned_bytes = n->policy.pinned_bytes();
    s.keys = n->entries.size();
    s.leases = n->leases.size();
    s.hits = n->hits, s.misses = n->misses, s.puts = n->puts;
    s.evictions = n->evictions, s.expirations = n->expirations;
    out.push_back(std::move(s));
  }
  return out;
}

size_t KvStore::Sweep() {
  size_t dropped_count = 0;
  Clock::time_point now = Now();
  for (auto& [name, n] : namespaces_) {
    std::vector<KvValue> dropped;  // freed after the lock is released
    std::lock_guard lock(n->mu);
    for (auto it = n->leases.begin(); it != n->leases.end();) {
      if (it->second.expires > now) {
        ++it;
        continue;
      }
      ReleaseLocked(*n, it->second);
      it = n->leases.erase(it);
    }
    for (auto it = n->entries.begin(); it != n->entries.end();) {
      if (it->second.pins > 0 || it->second.expires > now) {
        ++it;
        continue;
      }
      dropped.push_back(std::move(it->second.value));
      n->policy.Erase(it->first);
      it = n->entries.erase(it);
      ++n->expirations;
      ++dropped_count;
    }
  }
  return dropped_count;
}

}  // namespace unicache

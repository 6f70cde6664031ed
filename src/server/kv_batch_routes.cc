// KvRoutes' batch operations: batch-get, batch-exists, batch-put and prefix-match, split by
// owner into one sub-batch per member and merged back in request order.
#include <algorithm>
#include <mutex>
#include <random>

#include "kv/batch_codec.h"
#include "server/kv_routes.h"

namespace unicache {

namespace asio = boost::asio;

namespace {

std::string NewLeaseId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::vector<std::string> Pick(const std::vector<std::string>& keys, std::span<const size_t> idx) {
  std::vector<std::string> out;
  out.reserve(idx.size());
  for (size_t i : idx) out.push_back(keys[i]);
  return out;
}

std::chrono::milliseconds ItemTtl(uint64_t ttl_ms) {
  if (ttl_ms == UINT64_MAX) return std::chrono::milliseconds(-1);  // never expires
  return std::chrono::milliseconds(static_cast<int64_t>(std::min<uint64_t>(ttl_ms, INT64_MAX / 2)));
}

}  // namespace

asio::awaitable<std::vector<size_t>> KvRoutes::FanOut(
    const std::vector<KvOwners>& owners, const std::vector<size_t>& keys,
    const std::function<void(const KvPart&, std::vector<size_t>*)>& part_fn) {
  std::vector<size_t> pending = keys;
  std::vector<size_t> exhausted;  // every candidate failed
  for (size_t rank = 0; !pending.empty(); ++rank) {
    std::vector<size_t> now;
    for (size_t i : pending) {
      const auto& c = owners[i].candidates;
      if ((c.empty() && rank > 0) || (!c.empty() && rank >= c.size())) {
        exhausted.push_back(i);
      } else {
        now.push_back(i);
      }
    }
    if (now.empty()) break;
    std::vector<KvPart> parts = cluster_->Split(owners, now, rank);
    std::vector<std::vector<size_t>> failed(parts.size());
    std::vector<std::function<void()>> jobs;
    for (size_t p = 0; p < parts.size(); ++p) {
      jobs.push_back([&part_fn, &parts, &failed, p] { part_fn(parts[p], &failed[p]); });
    }
    co_await RunAllBlocking(*pool_, jobs);
    pending.clear();
    for (const auto& f : failed) pending.insert(pending.end(), f.begin(), f.end());
  }
  co_return exhausted;
}

asio::awaitable<void> KvRoutes::BatchGet(Call& c, ResponseWriter& w, bool exists_only) {
  Result<std::vector<std::string>> decoded = DecodeKeyList(c.body);
  if (!decoded.ok()) co_return co_await w.SendError(400, decoded.status());
  const std::vector<std::string> keys = std::move(decoded).value();
  const size_t n = keys.size();
  const std::string lease = c.target->Param("lease");
  std::vector<KvItemStatus> statuses(n, KvItemStatus::kNotFound);
  std::vector<std::string_view> values(n);
  std::vector<std::shared_ptr<const std::string>> holders;  // keep `values` alive
  std::mutex mu;                                            // guards holders
  std::vector<size_t> pending;
  for (size_t i = 0; i < n; ++i) {
    if (ValidateKvKey(keys[i]).ok()) {
      pending.push_back(i);
    } else {
      statuses[i] = KvItemStatus::kInvalidArgument;
    }
  }
  auto local = [&](std::span<const size_t> idx) {
    for (size_t i : idx) {
      if (exists_only) {
        Result<bool> r = store_->Exists(c.ns, keys[i]);
        if (r.ok() && *r) statuses[i] = KvItemStatus::kOk;
        continue;
      }
      Result<KvGetResult> r = store_->Get(c.ns, keys[i]);
      if (!r.ok()) continue;
      statuses[i] = KvItemStatus::kOk;
      values[i] = *r->value;
      std::lock_guard lock(mu);
      holders.push_back(std::move(r->value));
    }
    if (!lease.empty()) store_->Release(lease);
  };
  auto ring = cluster_->ring();
  if (c.forwarded || !ring || ring->size() <= 1) {
    local(pending);
  } else {
    std::vector<KvOwners> owners(n);
    for (size_t i : pending)
      owners[i] = cluster_->OwnersOf(*ring, c.ns, keys[i], c.config->replicas);
    std::string target = "/v1/kv/" + c.ns + (exists_only ? "/batch-exists" : "/batch-get");
    if (!lease.empty()) target += "?lease=" + lease;
    std::function<void(const KvPart&, std::vector<size_t>*)> part_fn =
        [&](const KvPart& part, std::vector<size_t>* failed) {
          if (part.local) return local(part.indices);
          Result<HttpResponse> r =
              cluster_->Send(*part.member, "POST", target, EncodeKeyList(Pick(keys, part.indices)));
          if (!r.ok() || r->status != 200) {
            *failed = part.indices;
            return;
          }
          if (exists_only) {
            Result<std::vector<KvItemStatus>> s = DecodeStatusList(r->body);
            if (!s.ok() || s->size() != part.indices.size()) return;  // garbled: misses
            for (size_t j = 0; j < s->size(); ++j) statuses[part.indices[j]] = (*s)[j];
            return;
          }
          auto body = std::make_shared<const std::string>(std::move(r->body));
          Result<KvGetHead> head = DecodeGetHead(*body);
          if (!head.ok() || head->statuses.size() != part.indices.size()) return;
          size_t offset = GetHeadSize(part.indices.size());
          for (size_t j = 0; j < part.indices.size(); ++j) {
            if (head->statuses[j] != KvItemStatus::kOk) continue;
            if (offset + head->lengths[j] > body->size()) return;
            statuses[part.indices[j]] = KvItemStatus::kOk;
            values[part.indices[j]] = std::string_view(*body).substr(offset, head->lengths[j]);
            offset += head->lengths[j];
          }
          std::lock_guard lock(mu);
          holders.push_back(std::move(body));
        };
    // Keys whose every candidate is down stay misses.
    (void)co_await FanOut(owners, pending, part_fn);
  }
  if (exists_only) {
    co_return co_await w.Send(200, EncodeStatusList(statuses), kKvBatchContentType);
  }
  KvGetHead head;
  head.statuses = statuses;
  head.lengths.resize(n);
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    head.lengths[i] =
        statuses[i] == KvItemStatus::kOk ? static_cast<uint32_t>(values[i].size()) : 0;
    total += head.lengths[i];
  }
  std::string buffer = EncodeGetHead(head);
  w.Start(200, buffer.size() + total, Header("Content-Type", std::string(kKvBatchContentType)));
  // Small values are coalesced into one write; large ones go out straight from the store.
  constexpr size_t kCoalesce = 64 * 1024;
  for (size_t i = 0; i < n; ++i) {
    if (head.lengths[i] == 0) continue;
    if (values[i].size() < kCoalesce) {
      buffer += values[i];
      continue;
    }
    if (!buffer.empty()) {
      if (!co_await w.Write(std::as_bytes(std::span(buffer.data(), buffer.size())))) co_return;
      buffer.clear();
    }
    if (!co_await w.Write(std::as_bytes(std::span(values[i].data(), values[i].size())))) co_return;
  }
  if (!buffer.empty()) co_await w.Write(std::as_bytes(std::span(buffer.data(), buffer.size())));
  co_await w.Finish();
}

asio::awaitable<void> KvRoutes::BatchPut(Call& c, ResponseWriter& w) {
  Result<std::vector<KvPutItem>> decoded = DecodePutBatch(c.body);
  if (!decoded.ok()) co_return co_await w.SendError(400, decoded.status());
  const std::vector<KvPutItem> items = std::move(decoded).value();  // views into c.body
  const size_t n = items.size();
  std::vector<KvItemStatus> statuses(n, KvItemStatus::kUnavailable);
  std::vector<size_t> pending;
  for (size_t i = 0; i < n; ++i) {
    if (ValidateKvKey(items[i].key).ok() && ValidateKvValueSize(items[i].value.size()).ok()) {
      pending.push_back(i);
    } else {
      statuses[i] = KvItemStatus::kInvalidArgument;
    }
  }
  auto local = [&](std::span<const size_t> idx) {
    for (size_t i : idx) {
      auto value = std::make_shared<const std::string>(items[i].value);
      statuses[i] = ItemStatusOf(
          store_->Put(c.ns, items[i].key, std::move(value), ItemTtl(items[i].ttl_ms)).status());
    }
  };
  auto ring = cluster_->ring();
  std::vector<KvOwners> owners(n);
  bool alone = c.forwarded || !ring || ring->size() <= 1;
  if (!alone) {
    for (size_t i : pending)
      owners[i] = cluster_->OwnersOf(*ring, c.ns, items[i].key, c.config->replicas);
  }
  auto send = [&](const KvPart& part, std::vector<KvItemStatus>* out) -> bool {
    std::vector<KvPutItem> sub;
    for (size_t i : part.indices) sub.push_back(items[i]);
    Result<HttpResponse> r =
        cluster_->Send(*part.member, "POST", "/v1/kv/" + c.ns + "/batch-put", EncodePutBatch(sub));
    if (!r.ok() || r->status != 200) return false;
    Result<std::vector<KvItemStatus>> s = DecodeStatusList(r->body);
    if (!s.ok() || s->size() != part.indices.size()) return false;
    *out = std::move(s).value();
    return true;
  };
  std::function<void(const KvPart&, std::vector<size_t>*)> part_fn =
      [&](const KvPart& part, std::vector<size_t>* failed) {
        if (alone || part.local) return local(part.indices);
        std::vector<KvItemStatus> s;
        if (!send(part, &s)) {
          *failed = part.indices;
          return;
        }
        for (size_t j = 0; j < s.size(); ++j) statuses[part.indices[j]] = s[j];
      };
  // Primary copies, failing over to the next candidate when a member is down; a value no
  // candidate took stays kUnavailable.
  (void)co_await FanOut(owners, pending, part_fn);
  if (!alone && c.config->replicas > 1) {
    std::vector<size_t> stored;
    for (size_t i : pending) {
      if (statuses[i] == KvItemStatus::kOk) stored.push_back(i);
    }
    for (size_t rank = 1; rank < c.config->replicas; ++rank) {  // extra copies: best effort
      std::vector<KvPart> parts = cluster_->Split(owners, stored, rank);
      std::vector<std::function<void()>> jobs;
      for (size_t p = 0; p < parts.size(); ++p) {
        jobs.push_back([&, p] {
          const KvPart& part = parts[p];
          if (part.local) {
            for (size_t i : part.indices) {
              auto value = std::make_shared<const std::string>(items[i].value);
              store_->Put(c.ns, items[i].key, std::move(value), ItemTtl(items[i].ttl_ms))
                  .status()
                  .IgnoreError();
            }
            return;
          }
          std::vector<KvItemStatus> ignored;
          (void)send(part, &ignored);
        });
      }
      co_await RunAllBlocking(*pool_, jobs);
    }
  }
  co_await w.Send(200, EncodeStatusList(statuses), kKvBatchContentType);
}

asio::awaitable<void> KvRoutes::PrefixMatch(Call& c, ResponseWriter& w) {
  Result<std::vector<std::string>> decoded = DecodeKeyList(c.body);
  if (!decoded.ok()) co_return co_await w.SendError(400, decoded.status());
  const std::vector<std::string> keys = std::move(decoded).value();
  for (const std::string& k : keys) {
    if (Status st = ValidateKvKey(k); !st.ok()) co_return co_await w.SendError(400, st);
  }
  uint64_t lease_ms = 0;
  if (std::string l = c.target->Param("lease"); !l.empty()) {
    lease_ms = std::strtoull(l.c_str(), nullptr, 10);
    if (lease_ms == 0 || lease_ms > 3600 * 1000) {
      co_return co_await w.SendError(400, InvalidArgument("lease must be 1..3600000 ms"));
    }
  }
  std::string lease_id;
  if (lease_ms > 0) lease_id = c.forwarded ? c.target->Param("lease_id") : NewLeaseId();
  if (lease_ms > 0 && lease_id.empty()) {
    co_return co_await w.SendError(400, InvalidArgument("forwarded lease without lease_id"));
  }
  const std::chrono::milliseconds ttl(lease_ms);
  size_t first_miss = keys.size();
  std::mutex mu;  // guards first_miss
  auto miss_at = [&](size_t i) {
    std::lock_guard lock(mu);
    first_miss = std::min(first_miss, i);
  };
  auto local = [&](std::span<const size_t> idx) {
    std::vector<std::string> sub = Pick(keys, idx);
    Result<size_t> r = store_->PrefixMatch(c.ns, sub, lease_id, ttl);
    size_t matched = r.ok() ? *r : 0;
    if (matched < idx.size()) miss_at(idx[matched]);
  };
  std::vector<size_t> all(keys.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  auto ring = cluster_->ring();
  if (c.forwarded || !ring || ring->size() <= 1) {
    local(all);
  } else {
    std::vector<KvOwners> owners(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      owners[i] = cluster_->OwnersOf(*ring, c.ns, keys[i], c.config->replicas);
    }
    std::string target = "/v1/kv/" + c.ns + "/prefix-match";
    if (lease_ms > 0) target += "?lease=" + std::to_string(lease_ms) + "&lease_id=" + lease_id;
    // Each owner answers how many of its keys (in request order) lead before its first miss;
    // the cluster-wide answer is the earliest miss over all owners.
    std::function<void(const KvPart&, std::vector<size_t>*)> part_fn =
        [&](const KvPart& part, std::vector<size_t>* failed) {
          if (part.local) return local(part.indices);
          Result<HttpResponse> r =
              cluster_->Send(*part.member, "POST", target, EncodeKeyList(Pick(keys, part.indices)));
          if (!r.ok() || r->status != 200) {
            *failed = part.indices;
            return;
          }
          Result<std::pair<uint32_t, std::string>> a = DecodePrefixAnswer(r->body);
          size_t matched = a.ok() ? a->first : 0;
          if (matched < part.indices.size()) miss_at(part.indices[matched]);
        };
    std::vector<size_t> down = co_await FanOut(owners, all, part_fn);
    for (size_t i : down) miss_at(i);  // keys on dead owners are misses
  }
  co_await w.Send(200, EncodePrefixAnswer(static_cast<uint32_t>(first_miss), lease_id),
                  kKvBatchContentType);
}

}  // namespace unicache

#include "server/kv/kv_service.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <random>

#include "server/work/run_on.h"

namespace unicache {

namespace asio = boost::asio;

namespace {

std::vector<std::string> Pick(const std::vector<std::string>& keys, std::span<const size_t> idx) {
  std::vector<std::string> out;
  out.reserve(idx.size());
  for (size_t i : idx) out.push_back(keys[i]);
  return out;
}

}  // namespace

std::optional<std::string> KvService::AskKeys(const KvPart& part, const std::string& target,
                                              const std::vector<std::string>& keys,
                                              std::vector<size_t>* failed) {
  Result<HttpResponse> r =
      cluster_->Send(*part.member, "POST", target, EncodeKeyList(Pick(keys, part.indices)));
  if (!r.ok() || r->status != 200) {
    *failed = part.indices;
    return std::nullopt;
  }
  return std::move(r->body);
}

std::string NewKvLeaseId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::chrono::milliseconds KvItemTtl(uint64_t ttl_ms) {
  if (ttl_ms == UINT64_MAX) return std::chrono::milliseconds(-1);  // never expires
  return std::chrono::milliseconds(static_cast<int64_t>(std::min<uint64_t>(ttl_ms, INT64_MAX / 2)));
}

KvService::KvService(KvStore* store, KvCluster* cluster, BoundedExecutor* executor)
    : store_(store), cluster_(cluster), executor_(executor) {}

asio::awaitable<std::vector<size_t>> KvService::FanOut(
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
    // A part the executor refused is retried on its next candidate, like a member that is down.
    const std::function<void(size_t)> refused = [&failed, &parts](size_t p) {
      failed[p] = parts[p].indices;
    };
    co_await RunAllOn(*executor_, jobs, &refused);
    pending.clear();
    for (const auto& f : failed) pending.insert(pending.end(), f.begin(), f.end());
  }
  co_return exhausted;
}

asio::awaitable<KvBatchGetAnswer> KvService::BatchGet(const KvScope& scope,
                                                      const std::vector<std::string>& keys,
                                                      const std::string& lease, bool exists_only) {
  const size_t n = keys.size();
  KvBatchGetAnswer a;
  a.statuses.assign(n, KvItemStatus::kNotFound);
  a.values.resize(n);
  std::mutex mu;  // guards a.holders
  std::vector<size_t> pending;
  for (size_t i = 0; i < n; ++i) {
    if (ValidateKvKey(keys[i]).ok()) {
      pending.push_back(i);
    } else {
      a.statuses[i] = KvItemStatus::kInvalidArgument;
    }
  }
  auto local = [&](std::span<const size_t> idx) {
    for (size_t i : idx) {
      if (exists_only) {
        Result<bool> r = store_->Exists(scope.ns, keys[i]);
        if (r.ok() && *r) a.statuses[i] = KvItemStatus::kOk;
        continue;
      }
      Result<KvGetResult> r = store_->Get(scope.ns, keys[i]);
      if (!r.ok()) continue;
      a.statuses[i] = KvItemStatus::kOk;
      a.values[i] = *r->value;
      std::lock_guard lock(mu);
      a.holders.push_back(std::move(r->value));
    }
    if (!lease.empty()) store_->Release(lease);
  };
  auto placement = cluster_->placement();
  if (scope.forwarded || placement->size() <= 1) {
    local(pending);
    co_return a;
  }
  std::vector<KvOwners> owners(n);
  for (size_t i : pending)
    owners[i] = cluster_->OwnersOf(*placement, scope.ns, keys[i], scope.config->replicas);
  std::string target = "/v1/kv/" + scope.ns + (exists_only ? "/batch-exists" : "/batch-get");
  if (!lease.empty()) target += "?lease=" + lease;
  std::function<void(const KvPart&, std::vector<size_t>*)> part_fn =
      [&](const KvPart& part, std::vector<size_t>* failed) {
        if (part.local) return local(part.indices);
        std::optional<std::string> answer = AskKeys(part, target, keys, failed);
        if (!answer) return;
        if (exists_only) {
          Result<std::vector<KvItemStatus>> s = DecodeStatusList(*answer);
          if (!s.ok() || s->size() != part.indices.size()) return;  // garbled: misses
          for (size_t j = 0; j < s->size(); ++j) a.statuses[part.indices[j]] = (*s)[j];
          return;
        }
        auto body = std::make_shared<const std::string>(std::move(*answer));
        Result<KvGetHead> head = DecodeGetHead(*body);
        if (!head.ok() || head->statuses.size() != part.indices.size()) return;
        size_t offset = GetHeadSize(part.indices.size());
        for (size_t j = 0; j < part.indices.size(); ++j) {
          if (head->statuses[j] != KvItemStatus::kOk) continue;
          if (offset + head->lengths[j] > body->size()) return;
          a.statuses[part.indices[j]] = KvItemStatus::kOk;
          a.values[part.indices[j]] = std::string_view(*body).substr(offset, head->lengths[j]);
          offset += head->lengths[j];
        }
        std::lock_guard lock(mu);
        a.holders.push_back(std::move(body));
      };
  // Keys whose every candidate is down stay misses.
  (void)co_await FanOut(owners, pending, part_fn);
  co_return a;
}

asio::awaitable<std::vector<KvItemStatus>> KvService::BatchPut(
    const KvScope& scope, const std::vector<KvPutItem>& items) {
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
  auto put_local = [&](size_t i) {
    auto value = std::make_shared<const std::string>(items[i].value);
    return store_->Put(scope.ns, items[i].key, std::move(value), KvItemTtl(items[i].ttl_ms))
        .status();
  };
  auto local = [&](std::span<const size_t> idx) {
    for (size_t i : idx) statuses[i] = ItemStatusOf(put_local(i));
  };
  auto placement = cluster_->placement();
  if (scope.forwarded || placement->size() <= 1) {
    local(pending);
    co_return statuses;
  }
  std::vector<KvOwners> owners(n);
  for (size_t i : pending)
    owners[i] = cluster_->OwnersOf(*placement, scope.ns, items[i].key, scope.config->replicas);
  auto send = [&](const KvPart& part, std::vector<KvItemStatus>* out) -> bool {
    std::vector<KvPutItem> sub;
    for (size_t i : part.indices) sub.push_back(items[i]);
    Result<HttpResponse> r = cluster_->Send(
        *part.member, "POST", "/v1/kv/" + scope.ns + "/batch-put", EncodePutBatch(sub));
    if (!r.ok() || r->status != 200) return false;
    Result<std::vector<KvItemStatus>> s = DecodeStatusList(r->body);
    if (!s.ok() || s->size() != part.indices.size()) return false;
    *out = std::move(s).value();
    return true;
  };
  std::function<void(const KvPart&, std::vector<size_t>*)> part_fn =
      [&](const KvPart& part, std::vector<size_t>* failed) {
        if (part.local) return local(part.indices);
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
  if (scope.config->replicas > 1) {
    std::vector<size_t> stored;
    for (size_t i : pending) {
      if (statuses[i] == KvItemStatus::kOk) stored.push_back(i);
    }
    for (size_t rank = 1; rank < scope.config->replicas; ++rank) {  // extra copies: best effort
      std::vector<KvPart> parts = cluster_->Split(owners, stored, rank);
      std::vector<std::function<void()>> jobs;
      for (size_t p = 0; p < parts.size(); ++p) {
        jobs.push_back([&, p] {
          const KvPart& part = parts[p];
          if (part.local) {
            for (size_t i : part.indices) put_local(i).IgnoreError();
            return;
          }
          std::vector<KvItemStatus> ignored;
          (void)send(part, &ignored);
        });
      }
      co_await RunAllOn(*executor_, jobs);
    }
  }
  co_return statuses;
}

asio::awaitable<Result<KvPrefixAnswer>> KvService::PrefixMatch(const KvScope& scope,
                                                               const std::vector<std::string>& keys,
                                                               uint64_t lease_ms,
                                                               const std::string& forwarded_lease) {
  for (const std::string& k : keys) {
    if (Status st = ValidateKvKey(k); !st.ok()) co_return st;
  }
  if (lease_ms > 3600 * 1000) co_return InvalidArgument("lease must be 1..3600000 ms");
  KvPrefixAnswer answer;
  if (lease_ms > 0) answer.lease_id = scope.forwarded ? forwarded_lease : NewKvLeaseId();
  if (lease_ms > 0 && answer.lease_id.empty()) {
    co_return InvalidArgument("forwarded lease without lease_id");
  }
  const std::chrono::milliseconds ttl(lease_ms);
  size_t first_miss = keys.size();
  std::mutex mu;  // guards first_miss
  auto miss_at = [&](size_t i) {
    std::lock_guard lock(mu);
    first_miss = std::min(first_miss, i);
  };
  auto local_all = [&] {
    Result<size_t> r = store_->PrefixMatch(scope.ns, keys, answer.lease_id, ttl);
    if (size_t matched = r.ok() ? *r : 0; matched < keys.size()) miss_at(matched);
  };
  auto local = [&](std::span<const size_t> idx) {
    std::vector<std::string> sub = Pick(keys, idx);
    Result<size_t> r = store_->PrefixMatch(scope.ns, sub, answer.lease_id, ttl);
    size_t matched = r.ok() ? *r : 0;
    if (matched < idx.size()) miss_at(idx[matched]);
  };
  auto placement = cluster_->placement();
  if (scope.forwarded || placement->size() <= 1) {
    local_all();
    answer.matched = first_miss;
    co_return answer;
  }
  std::vector<size_t> all(keys.size());
  std::vector<KvOwners> owners(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    all[i] = i;
    owners[i] = cluster_->OwnersOf(*placement, scope.ns, keys[i], scope.config->replicas);
  }
  std::string target = "/v1/kv/" + scope.ns + "/prefix-match";
  if (lease_ms > 0) {
    target += "?lease=" + std::to_string(lease_ms) + "&lease_id=" + answer.lease_id;
  }
  // Each owner answers how many of its keys (in request order) lead before its own first miss;
  // the cluster-wide answer is the earliest miss over all owners.
  std::function<void(const KvPart&, std::vector<size_t>*)> part_fn =
      [&](const KvPart& part, std::vector<size_t>* failed) {
        if (part.local) return local(part.indices);
        std::optional<std::string> body = AskKeys(part, target, keys, failed);
        if (!body) return;
        Result<std::pair<uint32_t, std::string>> a = DecodePrefixAnswer(*body);
        size_t matched = a.ok() ? a->first : 0;
        if (matched < part.indices.size()) miss_at(part.indices[matched]);
      };
  std::vector<size_t> down = co_await FanOut(owners, all, part_fn);
  for (size_t i : down) miss_at(i);  // keys on dead owners are misses
  answer.matched = first_miss;
  co_return answer;
}

asio::awaitable<std::vector<std::string>> KvService::Broadcast(const std::string& method,
                                                               const std::string& target) {
  std::vector<Member> members = cluster_->Members();
  std::vector<std::string> bodies(members.size());
  std::vector<std::function<void()>> jobs;
  for (size_t i = 0; i < members.size(); ++i) {
    if (cluster_->IsSelf(&members[i])) continue;
    jobs.push_back([this, &members, &bodies, &method, &target, i] {
      Result<HttpResponse> r = cluster_->Send(members[i], method, target, "");
      if (r.ok() && r->status >= 200 && r->status < 300) bodies[i] = std::move(r->body);
    });
  }
  co_await RunAllOn(*executor_, jobs);
  std::vector<std::string> out;
  for (std::string& b : bodies) {
    if (!b.empty()) out.push_back(std::move(b));
  }
  co_return out;
}

asio::awaitable<bool> KvService::Release(const KvScope& scope, const std::string& lease_id) {
  bool released = store_->Release(lease_id);
  if (scope.forwarded) co_return released;
  const std::string method = "POST";
  const std::string target = "/v1/kv/" + scope.ns + "/release?lease=" + lease_id;
  std::vector<std::string> bodies = co_await Broadcast(method, target);
  for (const std::string& b : bodies) released |= b.find("true") != std::string::npos;
  co_return released;
}

}  // namespace unicache

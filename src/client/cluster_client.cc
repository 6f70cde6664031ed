#include "client/cluster_client.h"

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <ctime>
#include <random>

#include "client/object_reader.h"
#include "cluster/etcd_client.h"
#include "cluster/membership.h"
#include "common/hash.h"
#include "common/http_answer.h"
#include "common/http_date.h"
#include "common/object_json.h"
#include "common/object_path.h"
#include "common/status_http.h"

namespace unicache {
namespace {

constexpr auto kStatTtl = std::chrono::seconds(1);

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string RandomId() {
  std::random_device rd;
  return "client-" + std::to_string((uint64_t{rd()} << 32) | rd());
}

ObjectStat StatOf(const ObjectInfo& o) { return {o.path, o.size, o.version, o.mtime_ms}; }

}  // namespace

std::string ObjectUrl(const std::string& address, const std::string& origin,
                      const std::string& path) {
  return "http://" + address + "/v1/objects/" + PercentEncode(origin) + "/" + PercentEncode(path);
}

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<ClusterClient> c,
                   ClusterClient::Create(options, NewHttpTransport()));
  return std::unique_ptr<Client>(std::move(c));
}

struct ClusterClient::Threads {
  const int pid = ::getpid();
  std::mutex mu;
  std::condition_variable stop_cv;
  bool stopping = false;  // guarded by mu
  std::thread refresher;
  std::unique_ptr<WorkPool> pool;
};

ClusterClient::ClusterClient(const ClientOptions& options, std::unique_ptr<Transport> transport,
                             std::string client_id)
    : options_(options),
      transport_(std::move(transport)),
      client_id_(client_id.empty() ? RandomId() : std::move(client_id)) {}

std::unique_ptr<ClusterClient::Threads> ClusterClient::StartThreads() {
  auto t = std::make_unique<Threads>();
  t->pool = std::make_unique<WorkPool>(std::max<size_t>(4, options_.parallelism * 2));
  if (options_.membership_refresh.count() > 0) {
    t->refresher = std::thread([this, raw = t.get()] { RefreshLoop(raw); });
  }
  return t;
}

ClusterClient::Threads* ClusterClient::threads() {
  Threads* t = threads_.load(std::memory_order_acquire);
  if (t->pid == ::getpid()) return t;
  std::lock_guard lock(threads_mu_);
  t = threads_.load(std::memory_order_acquire);
  if (t->pid != ::getpid()) {
    // The parent's threads do not exist here: abandon their state (leaked, never joined).
    t = StartThreads().release();
    threads_.store(t, std::memory_order_release);
  }
  return t;
}

WorkPool* ClusterClient::pool() { return threads()->pool.get(); }

Result<std::unique_ptr<ClusterClient>> ClusterClient::Create(const ClientOptions& options,
                                                             std::unique_ptr<Transport> transport,
                                                             std::string client_id) {
  if (options.peers.empty() && options.discovery.empty()) {
    return InvalidArgument("give peers (HOST:PORT,...) or discovery (etcd:URL, dns:NAME)");
  }
  if (!options.peers.empty() && !options.discovery.empty()) {
    return InvalidArgument("give peers or discovery, not both");
  }
  std::unique_ptr<ClusterClient> c(
      new ClusterClient(options, std::move(transport), std::move(client_id)));
  RETURN_IF_ERROR(c->RefreshMembership());
  c->threads_.store(c->StartThreads().release());
  return c;
}

ClusterClient::~ClusterClient() {
  Threads* t = threads_.load();
  if (t == nullptr || t->pid != ::getpid()) return;  // another process's threads: abandoned
  {
    std::lock_guard lock(t->mu);
    t->stopping = true;
  }
  t->stop_cv.notify_all();
  if (t->refresher.joinable()) t->refresher.join();
  t->pool.reset();  // runs what is queued while the rest of the client still exists
  delete t;
}

void ClusterClient::RefreshLoop(Threads* t) {
  std::unique_lock lock(t->mu);
  while (!t->stop_cv.wait_for(lock, options_.membership_refresh, [t] { return t->stopping; })) {
    lock.unlock();
    RefreshMembership().IgnoreError();  // keep the last view; the next round tries again
    lock.lock();
  }
}

Result<std::vector<std::string>> ClusterClient::SeedAddresses() {
  if (!options_.peers.empty()) return SplitList(options_.peers);
  std::string_view d = options_.discovery;
  std::vector<std::string> seeds;
  if (d.starts_with("etcd:")) {
    std::string prefix;
    ASSIGN_OR_RETURN(std::vector<std::string> endpoints, ParseEtcdTarget(d.substr(5), &prefix));
    ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> etcd,
                     EtcdClient::Create(std::move(endpoints), std::chrono::milliseconds(3000)));
    ASSIGN_OR_RETURN(EtcdClient::RangeResult range, etcd->RangePrefix(prefix + "/members/"));
    for (const auto& kv : range.kvs) {
      if (auto m = MemberFromJson(kv.value); m.ok()) seeds.push_back(m->address);
    }
    return seeds;
  }
  if (d.starts_with("dns:")) {
    MembershipOptions mo;
    mo.discovery = options_.discovery;
    ASSIGN_OR_RETURN(std::unique_ptr<Membership> dns, OpenMembership(mo));
    RETURN_IF_ERROR(dns->Start());
    for (const Member& m : dns->Current()->members) seeds.push_back(m.address);
    dns->Stop();
    return seeds;
  }
  return InvalidArgument("discovery \"" + options_.discovery + "\" must start with etcd: or dns:");
}

Status ClusterClient::RefreshMembership() {
  // Known members first, asked for the changes since the view held: an unchanged view costs a
  // few hundred bytes whatever the cluster's size. The seeds (the listed peers, etcd, DNS) only
  // when no known member answers: polling etcd from every client would cost it O(clients x
  // members).
  std::shared_ptr<const ClusterInfo> current = info();
  std::vector<std::string> known;
  if (current) {
    std::vector<const Member*> all;
    for (const Member& m : current->placement->members()) all.push_back(&m);
    for (const Member* m : health_.Order(all)) known.push_back(m->address);
  }
  Status last = Unavailable("no node answered");
  if (Status st = RefreshFrom(known, current); st.ok()) {
    return st;
  } else if (!known.empty()) {
    last = st;
  }
  Result<std::vector<std::string>> seeds = SeedAddresses();
  if (!seeds.ok()) return known.empty() ? seeds.status() : last;
  if (seeds->empty()) return Unavailable("no cluster members found");
  return RefreshFrom(*seeds, nullptr);
}

Status ClusterClient::RefreshFrom(const std::vector<std::string>& addresses,
                                  const std::shared_ptr<const ClusterInfo>& base) {
  Status last = Unavailable("no node answered");
  for (const std::string& address : addresses) {
    HttpRequest req;
    req.url = "http://" + address + "/v1/members";
    if (base != nullptr) req.url += "?since=" + std::to_string(base->placement->version());
    req.timeout = std::min(options_.timeout, std::chrono::milliseconds(5000));
    req.connect_timeout = std::chrono::milliseconds(2000);
    Result<HttpResponse> resp = transport_->Send(req);
    if (!resp.ok()) {
      last = resp.status().WithContext("members from " + address);
      continue;
    }
    if (resp->status != 200) {
      last = StatusFromAnswer(*resp, "members from " + address);
      continue;
    }
    Result<std::shared_ptr<const ClusterInfo>> parsed = ParseClusterInfo(resp->body, base);
    if (!parsed.ok() || (*parsed)->placement->empty()) {
      last = parsed.ok() ? Unavailable("empty membership from " + address) : parsed.status();
      continue;
    }
    std::vector<std::string> ids;
    for (const Member& m : (*parsed)->placement->members()) ids.push_back(m.id);
    health_.Retain(ids);
    std::lock_guard lock(mu_);
    info_ = std::move(parsed).value();
    return Status::Ok();
  }
  return last;
}

std::shared_ptr<const ClusterInfo> ClusterClient::info() const {
  std::lock_guard lock(mu_);
  return info_;
}

uint64_t ClusterClient::block_size() const { return info()->block_size; }

Result<HttpResponse> ClusterClient::SendToAny(
    const std::function<HttpRequest(const std::string&)>& build) {
  std::shared_ptr<const ClusterInfo> current = info();
  std::vector<const Member*> members;
  for (const Member& m : current->placement->members()) members.push_back(&m);
  uint64_t start;
  {
    std::lock_guard lock(mu_);
    start = next_any_++;
  }
  std::rotate(members.begin(), members.begin() + static_cast<long>(start % members.size()),
              members.end());
  Status last = Unavailable("no cluster member answered");
  for (const Member* m : health_.Order(members)) {
    Result<HttpResponse> resp = transport_->Send(build(m->address));
    health_.Report(m->id, resp.status());
    if (resp.ok()) return resp;
    last = resp.status().WithContext(m->address);
  }
  return last;
}

Result<ObjectStat> ClusterClient::Stat(const std::string& origin, const std::string& path) {
  threads();  // a forked child starts its own
  std::string cache_key = origin + "/" + path;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = stats_.find(cache_key);
    if (it != stats_.end() && now - it->second.second < kStatTtl) return it->second.first;
  }
  ASSIGN_OR_RETURN(HttpResponse resp, SendToAny([&](const std::string& address) {
                     HttpRequest req;
                     req.method = "HEAD";
                     req.url = ObjectUrl(address, origin, path);
                     req.timeout = options_.timeout;
                     return req;
                   }));
  if (resp.status != 200) return StatusFromAnswer(resp, origin + "/" + path);
  ObjectStat stat;
  stat.path = path;
  std::string length = resp.Header("content-length");
  stat.size = length.empty() ? 0 : std::strtoull(length.c_str(), nullptr, 10);
  stat.version = NormalizeEtag(resp.Header("etag"));
  // The node states the modification time to the millisecond, as listings do; Last-Modified
  // has whole seconds only.
  const std::string mtime_ms = resp.Header(kLastModifiedMsHeader);
  stat.mtime_ms = mtime_ms.empty() ? ParseHttpDate(resp.Header("last-modified")).value_or(0)
                                   : std::strtoll(mtime_ms.c_str(), nullptr, 10);
  std::lock_guard lock(mu_);
  if (stats_.size() > 10000) stats_.clear();  // a bound, not an LRU: entries live 1 s anyway
  stats_[cache_key] = {stat, now};
  return stat;
}

Status ClusterClient::ReadSpan(const ClusterInfo& info, const std::string& origin,
                               const ObjectStat& object, const BlockSpan& span,
                               std::span<std::byte> dst) {
  Key128 key = BlockKey(origin, object.path, object.version, span.index);
  // Every member can serve a block (any node fetches it for us): the owners first, then a few
  // more in placement order (not every member: at 100k members ranking them all per block
  // would cost more than the read).
  constexpr size_t kFallbacks = 3;
  const Placement& p = *info.placement;
  std::vector<const Member*> order = health_.Order(
      p.ReaderOrder(key, p.BlockOwnerCount(origin, object.path), client_id_, kFallbacks));
  Status last = Unavailable("no cluster member could serve block " + std::to_string(span.index));
  for (const Member* m : order) {
    HttpRequest req;
    req.url = ObjectUrl(m->address, origin, object.path);
    req.headers.emplace_back("Range", "bytes=" + std::to_string(span.object_offset) + "-" +
                                          std::to_string(span.object_offset + span.length - 1));
    if (!object.version.empty()) req.headers.emplace_back("If-Match", "\"" + object.version + "\"");
    req.timeout = options_.timeout;
    req.body_sink = dst;
    req.check_head = [&](const HttpResponse& head) {
      return CheckRangeAnswer(
          head, RangeQuestion{span.object_offset, span.length, object.size, object.version},
          m->address + " " + origin + "/" + object.path);
    };
    Result<HttpResponse> resp = transport_->Send(req);
    if (!resp.ok()) {
      health_.Report(m->id, resp.status());
      last = resp.status().WithContext(m->address);
      if (!last.retryable()) return last;
      continue;  // refused or timed out: the next member in placement order
    }
    health_.ReportSuccess(m->id);
    if (resp->status == 200 || resp->status == 206) {
      if (resp->body_bytes == span.length) return Status::Ok();
      last = Unavailable(m->address + " sent " + std::to_string(resp->body_bytes) + " of " +
                         std::to_string(span.length) + " bytes");
      continue;
    }
    last = StatusFromAnswer(*resp, origin + "/" + object.path);
    // 404, 412, ...: the same everywhere. A 5xx is that member's failure: ask the next.
    if (resp->status < 500 && !last.retryable()) return last;
  }
  return last;
}

Result<size_t> ClusterClient::Read(const std::string& origin, const ObjectStat& object,
                                   uint64_t offset, std::span<std::byte> dst) {
  Threads* threads_here = threads();  // a forked child starts its own
  std::shared_ptr<const ClusterInfo> current = info();
  std::vector<BlockSpan> spans = SplitBlocks(offset, dst.size(), object.size, current->block_size);
  size_t total = 0;
  for (const BlockSpan& s : spans) total += s.length;
  if (spans.size() == 1) {
    RETURN_IF_ERROR(ReadSpan(*current, origin, object, spans[0], dst.first(spans[0].length)));
  }
  if (spans.size() <= 1) return total;

  // The caller and up to parallelism-1 pool tasks claim spans from a shared counter. The caller
  // waits for every span to complete, not for the tasks: a task that starts late finds nothing
  // to claim and never touches `dst`. After an error the remaining spans complete unread.
  struct State {
    std::vector<BlockSpan> spans;
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;  // guarded by mu
    Status error;     // guarded by mu; a PreconditionFailed wins over other errors
  };
  auto state = std::make_shared<State>();
  state->spans = std::move(spans);
  auto work = [this, state, current, origin, object, dst] {
    for (;;) {
      size_t i = state->next.fetch_add(1);
      if (i >= state->spans.size()) return;
      const BlockSpan& s = state->spans[i];
      Status st;
      if (!state->failed.load()) {
        st = ReadSpan(*current, origin, object, s, dst.subspan(s.dst_offset, s.length));
      }
      std::lock_guard lock(state->mu);
      if (!st.ok()) {
        state->failed.store(true);
        if (state->error.ok() || st.code() == StatusCode::kPreconditionFailed) state->error = st;
      }
      if (++state->done == state->spans.size()) state->cv.notify_all();
    }
  };
  size_t helpers = std::min(options_.parallelism, state->spans.size());
  for (size_t i = 1; i < helpers; ++i) threads_here->pool->Submit(work);
  work();
  std::unique_lock lock(state->mu);
  state->cv.wait(lock, [&] { return state->done == state->spans.size(); });
  if (!state->error.ok()) return state->error;
  return total;
}

std::unique_ptr<ObjectReader> ClusterClient::Open(const std::string& origin,
                                                  const ObjectStat& object) {
  return NewObjectReader(this, origin, object);
}

Result<ListResult> ClusterClient::List(const std::string& origin, const std::string& prefix,
                                       const std::string& delimiter, const std::string& token,
                                       size_t max_keys) {
  threads();  // a forked child starts its own
  ASSIGN_OR_RETURN(HttpResponse resp, SendToAny([&](const std::string& address) {
                     HttpRequest req;
                     req.url = "http://" + address + "/v1/list/" + PercentEncode(origin) + "/" +
                               PercentEncode(prefix) + "?max-keys=" + std::to_string(max_keys);
                     if (!delimiter.empty())
                       req.url += "&delimiter=" + PercentEncode(delimiter, false);
                     if (!token.empty()) req.url += "&token=" + PercentEncode(token, false);
                     req.timeout = options_.timeout;
                     return req;
                   }));
  if (resp.status != 200) return StatusFromAnswer(resp, "list " + origin + "/" + prefix);
  ASSIGN_OR_RETURN(ListPage page, ListPageFromJson(resp.body, "list " + origin + "/" + prefix));
  ListResult result;
  for (const ObjectInfo& o : page.objects) {
    result.entries.push_back({o.path, o.size, o.version, o.mtime_ms, false});
  }
  for (std::string& p : page.prefixes) result.entries.push_back({std::move(p), 0, "", 0, true});
  result.next_token = std::move(page.next_token);
  return result;
}

Result<ObjectStat> ClusterClient::Write(const std::string& origin, const std::string& path,
                                        std::span<const std::byte> data) {
  threads();  // a forked child starts its own
  std::string body(reinterpret_cast<const char*>(data.data()), data.size());
  ASSIGN_OR_RETURN(HttpResponse resp, SendToAny([&](const std::string& address) {
                     HttpRequest req;
                     req.method = "PUT";
                     req.url = ObjectUrl(address, origin, path);
                     req.body = body;
                     req.timeout = options_.timeout;
                     return req;
                   }));
  if (resp.status != 200 && resp.status != 201) {
    return StatusFromAnswer(resp, "write " + origin + "/" + path);
  }
  ASSIGN_OR_RETURN(ObjectInfo written,
                   ObjectInfoFromJson(resp.body, "write " + origin + "/" + path));
  ObjectStat stat = StatOf(written);
  if (stat.path.empty()) stat.path = path;
  std::lock_guard lock(mu_);
  stats_[origin + "/" + path] = {stat, std::chrono::steady_clock::now()};
  return stat;
}

}  // namespace unicache

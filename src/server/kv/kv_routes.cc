#include "server/kv/kv_routes.h"

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/hash.h"
#include "common/http_answer.h"
#include "common/units.h"
#include "kv/batch_codec.h"
#include "server/work/run_on.h"

namespace unicache {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

std::string QuotedEtag(uint64_t etag) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "\"%llx\"", static_cast<unsigned long long>(etag));
  return buf;
}

// Returns the headers of a KV answer; `key` (raw) is named on a value so that the client can
// check the answer is its own.
HttpHeaders ValueHeaders(const std::string& cache, const std::string& etag,
                         const std::string& key = "") {
  HttpHeaders h;
  h.emplace_back("X-Unicache-Cache", cache);
  if (!etag.empty()) h.emplace_back("ETag", etag);
  if (!key.empty()) h.emplace_back(kKvKeyHeader, HexOf(key));
  return h;
}

// The outcome of a single-key operation, local or relayed from the owner.
struct OneAnswer {
  int status = 404;
  KvValue value;     // GET hit
  std::string etag;  // quoted
  std::string cache = "miss";
  std::string error_body;  // JSON error relayed from a peer (status >= 400)
  Status error;            // local error (status >= 400, error_body empty)
};

std::string KeyTarget(const std::string& ns, const std::string& key, const std::string& query) {
  std::string t = "/v1/kv/" + ns + "/" + HexOf(key);
  if (!query.empty()) t += "?" + query;
  return t;
}

}  // namespace

KvRoutes::KvRoutes(KvService* service, KvCluster* cluster, BoundedExecutor* executor)
    : service_(service), store_(&service->store()), cluster_(cluster), executor_(executor) {}

asio::awaitable<void> KvRoutes::Handle(const Request& req, ResponseWriter& w,
                                       const RequestTarget& target) {
  w.set_frontend("kv");
  Call c;
  c.req = &req;
  c.target = &target;
  c.forwarded = req.find(kForwardedHeader) != req.end();
  std::string_view rest = std::string_view(target.path).substr(std::string_view("/v1/kv").size());
  if (rest.empty() || rest == "/") {
    if (req.method() != http::verb::get) {
      co_return co_await w.SendError(405, InvalidArgument("use GET"), Header("Allow", "GET"));
    }
    co_return co_await Stats(c, w);
  }
  rest.remove_prefix(1);
  size_t slash = rest.find('/');
  c.ns = std::string(rest.substr(0, slash));
  if (Status st = ValidateKvNamespaceName(c.ns); !st.ok()) co_return co_await w.SendError(400, st);
  c.config = store_->FindNamespace(c.ns);
  if (c.config == nullptr) {
    co_return co_await w.SendError(
        404, NotFound("unknown KV namespace '" + c.ns +
                      "' (configure it on every node: --kv-namespace NAME=QUOTA)"));
  }
  if (slash == std::string_view::npos) {
    if (req.method() != http::verb::get) {
      co_return co_await w.SendError(405, InvalidArgument("use GET to list"),
                                     Header("Allow", "GET"));
    }
    co_return co_await List(c, w);
  }
  std::string_view tail = rest.substr(slash + 1);
  // The request object is not used by the server after the handler: take the body without a copy.
  c.body = std::move(const_cast<Request&>(req).body());
  if (req.method() == http::verb::post) {
    if (tail == "batch-get") co_return co_await BatchGet(c, w, false);
    if (tail == "batch-exists") co_return co_await BatchGet(c, w, true);
    if (tail == "batch-put") co_return co_await BatchPut(c, w);
    if (tail == "prefix-match") co_return co_await PrefixMatch(c, w);
    if (tail == "release") co_return co_await Release(c, w);
    co_return co_await w.SendError(
        404, NotFound("no such KV operation '" + std::string(tail) +
                      "' (batch-get, batch-put, batch-exists, prefix-match, release)"));
  }
  if (tail.empty()) co_return co_await w.SendError(400, InvalidArgument("empty key"));
  Result<std::string> key = FromHex(tail);
  if (!key.ok()) {
    co_return co_await w.SendError(
        400, InvalidArgument("KV keys go in URLs as hex: " + key.status().message()));
  }
  c.key = std::move(key).value();
  if (Status st = ValidateKvKey(c.key); !st.ok()) co_return co_await w.SendError(400, st);
  switch (req.method()) {
    case http::verb::get:
    case http::verb::head:
      co_return co_await GetOne(c, w);
    case http::verb::put:
      co_return co_await PutOne(c, w);
    case http::verb::delete_:
      co_return co_await DeleteOne(c, w);
    default:
      co_return co_await w.SendError(405, InvalidArgument("use GET, HEAD, PUT or DELETE"),
                                     Header("Allow", "GET, HEAD, PUT, DELETE"));
  }
}

bool KvRoutes::ServesLocally(const KvOwners& owners, bool write) const {
  if (owners.candidates.empty()) return true;
  // A write with replicas also sends copies to peers.
  return cluster_->IsSelf(owners.candidates.front()) && (!write || owners.replicas == 1);
}

asio::awaitable<void> KvRoutes::GetOne(Call& c, ResponseWriter& w) {
  std::string lease = c.target->Param("lease");
  auto placement = cluster_->placement();  // keeps the owners' Member pointers valid
  KvOwners owners;
  if (!c.forwarded) owners = cluster_->OwnersOf(*placement, c.ns, c.key, c.config->replicas);
  auto serve = [this, &c, &lease, &owners]() {
    OneAnswer a;
    auto local = [&] {
      Result<KvGetResult> r = store_->Get(c.ns, c.key);
      if (r.ok()) {
        a.status = 200, a.value = r->value, a.etag = QuotedEtag(r->etag), a.cache = "hit";
      } else {
        a.status = HttpStatusFor(r.status()), a.error = r.status(), a.cache = "miss";
      }
      if (!lease.empty()) store_->Release(lease);
    };
    if (owners.candidates.empty()) {  // forwarded here, or alone
      local();
      return a;
    }
    a.error = NotFound("no such key (its owners are down)");
    for (const Member* m : owners.candidates) {
      if (cluster_->IsSelf(m)) {
        local();
        return a;
      }
      std::string query = lease.empty() ? "" : "lease=" + lease;
      Result<HttpResponse> r = cluster_->Send(*m, "GET", KeyTarget(c.ns, c.key, query), "");
      if (!r.ok()) continue;  // down: try the next candidate; none left = a miss
      if (r->status == 200 && !CheckKvKeyAnswer(*r, HexOf(c.key), "peer " + m->id).ok()) {
        continue;  // not the answer to this request: as if the peer were down
      }
      a.status = r->status;
      if (r->status == 200) {
        a.value = std::make_shared<const std::string>(std::move(r->body));
        a.etag = r->Header("etag");
        a.cache = "peer";
      } else {
        a.error_body = std::move(r->body);
      }
      return a;
    }
    return a;
  };
  OneAnswer answer;
  if (ServesLocally(owners, /*write=*/false)) {
    answer = serve();
  } else {
    Result<OneAnswer> asked =
        co_await RunOn(*executor_, [&serve]() -> Result<OneAnswer> { return serve(); });
    if (!asked.ok()) co_return co_await w.SendError(asked.status());
    answer = std::move(asked).value();
  }
  if (answer.status == 200) {
    w.Start(200, answer.value->size(), ValueHeaders(answer.cache, answer.etag, c.key));
    co_await w.Write(std::as_bytes(std::span(answer.value->data(), answer.value->size())));
    co_await w.Finish();
    co_return;
  }
  if (!answer.error_body.empty()) {
    co_return co_await w.Send(answer.status, std::move(answer.error_body), "application/json",
                              ValueHeaders("miss", ""));
  }
  co_await w.SendError(answer.status, answer.error, ValueHeaders("miss", ""));
}

asio::awaitable<void> KvRoutes::PutOne(Call& c, ResponseWriter& w) {
  if (Status st = ValidateKvValueSize(c.body.size()); !st.ok()) {
    co_return co_await w.SendError(413, st);
  }
  std::chrono::milliseconds ttl(0);
  if (std::string t = c.target->Param("ttl"); !t.empty()) {
    Result<std::chrono::milliseconds> d = ParseDuration(t);
    if (!d.ok()) co_return co_await w.SendError(400, d.status().WithContext("ttl"));
    ttl = *d == std::chrono::milliseconds::max() ? std::chrono::milliseconds(-1) : *d;
  }
  auto value = std::make_shared<const std::string>(std::move(c.body));
  auto placement = cluster_->placement();  // keeps the owners' Member pointers valid
  KvOwners owners;
  if (!c.forwarded) owners = cluster_->OwnersOf(*placement, c.ns, c.key, c.config->replicas);
  auto serve = [this, &c, &value, &ttl, &owners]() {
    OneAnswer a;
    auto local = [&]() -> bool {
      Result<KvPutResult> r = store_->Put(c.ns, c.key, value, ttl);
      if (!r.ok()) {
        a.status = HttpStatusFor(r.status()), a.error = r.status();
        return false;
      }
      a.status = r->created ? 201 : 200, a.etag = QuotedEtag(r->etag);
      return true;
    };
    if (owners.candidates.empty()) {
      local();
      return a;
    }
    a.error = Unavailable("no owner of this key could be reached");
    a.status = HttpStatusFor(a.error);
    size_t stored = 0;
    int first_status = 0;
    std::string first_etag;
    std::string query = ttl.count() != 0 ? "ttl=" + std::to_string(ttl.count()) + "ms" : "";
    if (ttl.count() < 0) query = "ttl=forever";
    for (const Member* m : owners.candidates) {
      if (stored == owners.replicas) break;
      if (cluster_->IsSelf(m)) {
        if (!local()) return a;  // quota or bad input: the same everywhere
      } else {
        Result<HttpResponse> r = cluster_->Send(*m, "PUT", KeyTarget(c.ns, c.key, query), *value);
        if (!r.ok()) continue;  // down: place the copy on the next candidate
        a.status = r->status;
        if (r->status != 200 && r->status != 201) {
          a.error_body = std::move(r->body);
          return a;
        }
        a.etag = r->Header("etag");
      }
      if (stored++ == 0) first_status = a.status, first_etag = a.etag;
    }
    if (stored > 0) a.status = first_status, a.etag = first_etag, a.error_body.clear();
    return a;
  };
  OneAnswer answer;
  if (ServesLocally(owners, /*write=*/true)) {
    answer = serve();
  } else {
    Result<OneAnswer> asked =
        co_await RunOn(*executor_, [&serve]() -> Result<OneAnswer> { return serve(); });
    if (!asked.ok()) co_return co_await w.SendError(asked.status());
    answer = std::move(asked).value();
  }
  if (answer.status < 300) {
    co_return co_await w.Send(answer.status, "", "text/plain", ValueHeaders("miss", answer.etag));
  }
  if (!answer.error_body.empty()) {
    co_return co_await w.Send(answer.status, std::move(answer.error_body), "application/json");
  }
  co_await w.SendError(answer.status, answer.error);
}

asio::awaitable<void> KvRoutes::DeleteOne(Call& c, ResponseWriter& w) {
  Result<bool> existed = co_await RunOn(*executor_, [this, &c]() -> Result<bool> {
    bool found = false;
    auto placement = cluster_->placement();
    KvOwners owners;
    if (!c.forwarded) owners = cluster_->OwnersOf(*placement, c.ns, c.key, c.config->replicas);
    for (const Member* m : owners.candidates) {  // every copy: owners and the fallback
      if (cluster_->IsSelf(m)) continue;
      Result<HttpResponse> r = cluster_->Send(*m, "DELETE", KeyTarget(c.ns, c.key, ""), "");
      found |= r.ok() && r->status == 200;
    }
    Result<bool> r = store_->Delete(c.ns, c.key);
    return found || (r.ok() && *r);
  });
  if (!existed.ok()) co_return co_await w.SendError(existed.status());
  if (!*existed) co_return co_await w.SendError(404, NotFound("no such key"));
  co_await w.Send(200, "");
}

asio::awaitable<void> KvRoutes::Release(Call& c, ResponseWriter& w) {
  std::string lease = c.target->Param("lease");
  if (lease.empty()) co_return co_await w.SendError(400, InvalidArgument("missing ?lease=ID"));
  const KvScope scope = c.scope();
  bool released = co_await service_->Release(scope, lease);
  nlohmann::json j;
  j["released"] = released;
  co_await w.Send(200, j.dump() + "\n", "application/json");
}

asio::awaitable<void> KvRoutes::Stats(Call& c, ResponseWriter& w) {
  nlohmann::json self;
  self["node"] = cluster_->self_id();
  self["namespaces"] = nlohmann::json::array();
  for (const KvNamespaceStats& s : store_->Stats()) {
    self["namespaces"].push_back({{"name", s.name},
                                  {"quota_bytes", s.quota_bytes},
                                  {"bytes", s.bytes},
                                  {"pinned_bytes", s.pinned_bytes},
                                  {"keys", s.keys},
                                  {"leases", s.leases},
                                  {"hits", s.hits},
                                  {"misses", s.misses},
                                  {"puts", s.puts},
                                  {"evictions", s.evictions},
                                  {"expirations", s.expirations}});
  }
  if (c.forwarded) co_return co_await w.Send(200, self.dump() + "\n", "application/json");
  const std::string method = "GET", target = "/v1/kv";
  std::vector<std::string> bodies = co_await service_->Broadcast(method, target);
  nlohmann::json out;
  out["nodes"] = nlohmann::json::array();
  out["nodes"].push_back(std::move(self));
  for (const std::string& b : bodies) {
    nlohmann::json j = nlohmann::json::parse(b, nullptr, false);
    if (!j.is_discarded()) out["nodes"].push_back(std::move(j));
  }
  co_await w.Send(200, out.dump() + "\n", "application/json");
}

asio::awaitable<void> KvRoutes::List(Call& c, ResponseWriter& w) {
  size_t limit = 1000;
  if (std::string l = c.target->Param("limit"); !l.empty()) {
    limit = std::strtoull(l.c_str(), nullptr, 10);
    if (limit == 0 || limit > 1000000) {
      co_return co_await w.SendError(400, InvalidArgument("limit must be 1..1000000"));
    }
  }
  Result<std::vector<std::string>> keys = store_->Keys(c.ns, limit);
  if (!keys.ok()) co_return co_await w.SendError(keys.status());
  std::vector<std::string> hex;
  for (const std::string& k : *keys) hex.push_back(HexOf(k));
  if (!c.forwarded) {
    const std::string method = "GET";
    const std::string target = "/v1/kv/" + c.ns + "?limit=" + std::to_string(limit);
    std::vector<std::string> bodies = co_await service_->Broadcast(method, target);
    for (const std::string& b : bodies) {
      nlohmann::json j = nlohmann::json::parse(b, nullptr, false);
      if (j.is_discarded() || !j.contains("keys")) continue;
      if (!j["keys"].is_array()) continue;
      for (const auto& k : j["keys"]) {
        if (k.is_string()) hex.push_back(k.get<std::string>());
      }
    }
    std::sort(hex.begin(), hex.end());
    hex.erase(std::unique(hex.begin(), hex.end()), hex.end());
    if (hex.size() > limit) hex.resize(limit);
  }
  nlohmann::json out;
  out["namespace"] = c.ns;
  out["keys"] = hex;
  co_await w.Send(200, out.dump() + "\n", "application/json");
}

}  // namespace unicache

#include "cluster/etcd_client.h"

#include <nlohmann/json.hpp>

#include "cluster/member.h"
#include "common/text.h"

namespace unicache {
namespace {

using Json = nlohmann::json;

// Reads an int64 that the gateway writes as a JSON string (or, leniently, a number); 0 when
// absent, which is how the gateway encodes a zero value.
Result<int64_t> Int64Field(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return int64_t{0};
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return Internal(std::string("etcd field ") + name + " is not an int64");
  const std::string& s = it->get_ref<const std::string&>();
  std::optional<int64_t> v = ParseDecimal<int64_t>(s);
  if (!v) return Internal(std::string("etcd field ") + name + " is not an int64: " + s);
  return *v;
}

Result<Json> ParseJson(const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Internal("etcd answered with invalid JSON");
  return j;
}

}  // namespace

std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Result<std::vector<std::string>> ParseEtcdTarget(std::string_view spec, std::string* prefix) {
  *prefix = "/unicache";
  std::vector<std::string> endpoints;
  std::string quoted = "\"etcd:" + std::string(spec) + "\"";
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    bool last = comma == spec.size();
    std::string_view url = spec.substr(start, comma - start);
    size_t scheme = url.find("://");
    if (url.empty() || scheme == std::string_view::npos ||
        (url.substr(0, scheme) != "http" && url.substr(0, scheme) != "https")) {
      return InvalidArgument(
          "--discovery " + quoted +
          ": each endpoint must be http://HOST:PORT (etcd:http://H:P[,...][/prefix])");
    }
    size_t slash = url.find('/', scheme + 3);
    std::string_view hostport = url.substr(
        scheme + 3, slash == std::string_view::npos ? std::string_view::npos : slash - scheme - 3);
    Result<HostPort> hp = ParseHostPort(hostport);
    if (!hp.ok()) return hp.status().WithContext("--discovery " + quoted);
    if (slash != std::string_view::npos) {
      if (!last) {
        return InvalidArgument("--discovery " + quoted +
                               ": only the last endpoint may carry the /prefix");
      }
      std::string_view path = url.substr(slash);
      while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
      if (path != "/") *prefix = std::string(path);
    }
    endpoints.push_back(std::string(url.substr(0, slash)));
    start = comma + 1;
  }
  return endpoints;
}

Result<std::unique_ptr<EtcdClient>> EtcdClient::Create(std::vector<std::string> endpoints,
                                                       std::chrono::milliseconds timeout) {
  if (endpoints.empty()) return InvalidArgument("etcd needs at least one endpoint");
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(endpoints), timeout));
}

Result<std::string> EtcdClient::Call(std::string_view path, const std::string& body) {
  Status last = Unavailable("no etcd endpoint");
  size_t first = preferred_.load(std::memory_order_relaxed);
  for (size_t k = 0; k < endpoints_.size(); ++k) {
    size_t i = (first + k) % endpoints_.size();
    HttpRequest req;
    req.method = "POST";
    req.url = endpoints_[i] + std::string(path);
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body;
    req.timeout = timeout_;
    req.connect_timeout = timeout_;
    Result<HttpResponse> resp = http_.Send(req);
    if (!resp.ok()) {
      last = resp.status().WithContext("etcd");
      continue;
    }
    preferred_.store(i, std::memory_order_relaxed);
    if (resp->status == 200) return std::move(resp->body);
    Json err = Json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
    std::string message =
        "etcd " + std::string(path) + " returned HTTP " + std::to_string(resp->status);
    int code = -1;
    if (err.is_object()) {
      if (auto m = err.find("message"); m != err.end() && m->is_string()) {
        message += ": " + m->get<std::string>();
      }
      if (auto c = err.find("code"); c != err.end() && c->is_number_integer()) code = c->get<int>();
    }
    if (code == 5) return NotFound(message);
    if (code == 3) return InvalidArgument(message);
    return Unavailable(message);
  }
  return last;
}

Result<int64_t> EtcdClient::GrantLease(int64_t ttl_seconds) {
  ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/grant", Json{{"TTL", ttl_seconds}}.dump()));
  ASSIGN_OR_RETURN(Json j, ParseJson(body));
  ASSIGN_OR_RETURN(int64_t id, Int64Field(j, "ID"));
  if (id == 0) return Internal("etcd granted a lease without an ID");
  return id;
}

Result<int64_t> EtcdClient::KeepAlive(int64_t lease) {
  ASSIGN_OR_RETURN(std::string body,
                   Call("/v3/lease/keepalive", Json{{"ID", std::to_string(lease)}}.dump()));
  // The gateway streams: one {"result":{...}} object per line; the first is our answer.
  ASSIGN_OR_RETURN(Json j, ParseJson(body.substr(0, body.find('\n'))));
  auto result = j.find("result");
  if (result == j.end() || !result->is_object()) {
    return Unavailable("etcd keepalive answered without a result");
  }
  ASSIGN_OR_RETURN(int64_t ttl, Int64Field(*result, "TTL"));
  if (ttl <= 0) return NotFound("etcd lease " + std::to_string(lease) + " has expired");
  return ttl;
}

Status EtcdClient::RevokeLease(int64_t lease) {
  Result<std::string> body = Call("/v3/lease/revoke", Json{{"ID", std::to_string(lease)}}.dump());
  return body.status();
}

Status EtcdClient::Put(std::string_view key, std::string_view value, int64_t lease) {
  Json req{{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) req["lease"] = std::to_string(lease);
  return Call("/v3/kv/put", req.dump()).status();
}

Result<bool> EtcdClient::TxnIfModRevision(std::string_view key, int64_t mod_revision,
                                          const char* op, Json op_body) {
  Json compare{{"key", Base64Encode(key)},
               {"target", "MOD"},
               {"result", "EQUAL"},
               {"mod_revision", std::to_string(mod_revision)}};
  Json txn{{"compare", Json::array({compare})}, {"success", Json::array({Json{{op, op_body}}})}};
  ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/txn", txn.dump()));
  ASSIGN_OR_RETURN(Json j, ParseJson(body));
  auto ok = j.find("succeeded");
  return ok != j.end() && ok->is_boolean() && ok->get<bool>();
}

Result<bool> EtcdClient::PutIf(std::string_view key, std::string_view value, int64_t lease,
                               int64_t mod_revision) {
  Json put{{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  return TxnIfModRevision(key, mod_revision, "request_put", std::move(put));
}

Result<bool> EtcdClient::DeleteIf(std::string_view key, int64_t mod_revision) {
  return TxnIfModRevision(key, mod_revision, "request_delete_range",
                          Json{{"key", Base64Encode(key)}});
}

Status EtcdClient::Watch(std::string_view prefix, int64_t start_revision,
                         std::chrono::milliseconds timeout, const WatchCallback& on_events) {
  Json create{{"key", Base64Encode(prefix)},
              {"range_end", Base64Encode(PrefixRangeEnd(prefix))},
              {"start_revision", std::to_string(start_revision)}};
  HttpRequest req;
  req.method = "POST";
  const size_t endpoint = preferred_.load(std::memory_order_relaxed);
  req.url = endpoints_[endpoint] + "/v3/watch";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = Json{{"create_request", create}}.dump();
  req.timeout = timeout;
  req.connect_timeout = timeout_;
  // The gateway streams one {"result":{...}} object a line.
  std::string pending;
  bool created = false;  // etcd answered: a timeout after this is the stream's normal end
  auto on_line = [&](std::string_view line) -> Status {
    ASSIGN_OR_RETURN(Json j, ParseJson(std::string(line)));
    created = true;
    auto result = j.find("result");
    if (result == j.end() || !result->is_object()) {
      return Unavailable("etcd watch: " + std::string(line.substr(0, 200)));
    }
    ASSIGN_OR_RETURN(int64_t compacted, Int64Field(*result, "compact_revision"));
    if (compacted != 0) {
      return OutOfRange("etcd compacted the watched revisions up to " + std::to_string(compacted));
    }
    if (result->value("canceled", false)) return Unavailable("etcd cancelled the watch");
    int64_t revision = 0;
    if (auto header = result->find("header"); header != result->end() && header->is_object()) {
      ASSIGN_OR_RETURN(revision, Int64Field(*header, "revision"));
    }
    std::vector<WatchEvent> events;
    if (auto list = result->find("events"); list != result->end() && list->is_array()) {
      for (const Json& e : *list) {
        auto kv = e.find("kv");
        if (!e.is_object() || kv == e.end() || !kv->is_object()) {
          return Internal("etcd watch sent an event without a kv");
        }
        WatchEvent event;
        event.deleted = e.value("type", std::string()) == "DELETE";
        ASSIGN_OR_RETURN(event.kv.key, Base64Decode(kv->value("key", "")));
        ASSIGN_OR_RETURN(event.kv.value, Base64Decode(kv->value("value", "")));
        ASSIGN_OR_RETURN(event.kv.lease, Int64Field(*kv, "lease"));
        ASSIGN_OR_RETURN(event.kv.mod_revision, Int64Field(*kv, "mod_revision"));
        events.push_back(std::move(event));
      }
    }
    return on_events(revision, std::move(events));
  };
  req.body_stream = [&](const HttpResponse&, std::span<const std::byte> piece) -> Status {
    pending.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (nl > start) RETURN_IF_ERROR(on_line(std::string_view(pending).substr(start, nl - start)));
    }
    pending.erase(0, start);
    return Status::Ok();
  };
  Result<HttpResponse> resp = http_.Send(req);
  if (!resp.ok()) {
    if (resp.status().code() == StatusCode::kDeadlineExceeded && created) return Status::Ok();
    if (resp.status().code() == StatusCode::kUnavailable ||
        resp.status().code() == StatusCode::kDeadlineExceeded) {
      // Watch the next endpoint next time.
      preferred_.store((endpoint + 1) % endpoints_.size(), std::memory_order_relaxed);
      return resp.status().WithContext("etcd watch");
    }
    return resp.status();
  }
  if (resp->status != 200) {
    return Unavailable("etcd watch returned HTTP " + std::to_string(resp->status));
  }
  return Unavailable("etcd ended the watch stream");
}

Result<EtcdClient::RangeResult> EtcdClient::RangePrefix(std::string_view prefix) {
  Json req{{"key", Base64Encode(prefix)}, {"range_end", Base64Encode(PrefixRangeEnd(prefix))}};
  ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", req.dump()));
  ASSIGN_OR_RETURN(Json j, ParseJson(body));
  RangeResult out;
  if (auto header = j.find("header"); header != j.end() && header->is_object()) {
    ASSIGN_OR_RETURN(out.revision, Int64Field(*header, "revision"));
  }
  if (auto kvs = j.find("kvs"); kvs != j.end() && kvs->is_array()) {
    for (const Json& kv : *kvs) {
      if (!kv.is_object()) return Internal("etcd range returned a non-object kv");
      KeyValue item;
      ASSIGN_OR_RETURN(item.key, Base64Decode(kv.value("key", "")));
      ASSIGN_OR_RETURN(item.value, Base64Decode(kv.value("value", "")));
      ASSIGN_OR_RETURN(item.lease, Int64Field(kv, "lease"));
      ASSIGN_OR_RETURN(item.mod_revision, Int64Field(kv, "mod_revision"));
      out.kvs.push_back(std::move(item));
    }
  }
  return out;
}

}  // namespace unicache

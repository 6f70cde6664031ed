// KvClient over HttpClient (libcurl, pooled keep-alive connections).
#include "unicache/kv.h"

#include <unistd.h>

#include <cstring>
#include <mutex>

#include "common/crypto.h"
#include "common/fork_safe_mutex.h"
#include "common/http_answer.h"
#include "common/http_client.h"
#include "common/status_http.h"
#include "kv/batch_codec.h"
#include "kv/local_channel.h"

namespace unicache {

struct KvClient::Impl {
  KvClientOptions options;
  std::vector<std::string> nodes;
  HttpClient http;

  // Sends `req` (url = path) to the first node that answers.
  Result<HttpResponse> Send(HttpRequest req) {
    std::string path = req.url;
    Status last = Unavailable("no node given");
    for (const std::string& node : nodes) {
      req.url = "http://" + node + path;
      req.timeout = options.timeout;
      Result<HttpResponse> r = http.Send(req);
      if (r.ok()) return r;
      last = r.status();
      if (!last.retryable()) break;
    }
    return last.WithContext("unicache kv");
  }

  // Shared-memory path (null segment: off).
  std::unique_ptr<SharedMemory> segment;
  ForkSafeMutex mu;
  std::vector<std::unique_ptr<KvLocalChannel>> idle;  // GUARDED_BY(mu)
  int pid = ::getpid();  // the process the idle channels belong to; GUARDED_BY(mu)

  // Returns whether `bytes` lie inside the registered segment.
  bool Inside(const void* p, size_t n) const {
    if (!segment) return false;
    auto* b = static_cast<const std::byte*>(p);
    return b >= segment->data() && n <= segment->size() &&
           static_cast<size_t>(b - segment->data()) <= segment->size() - n;
  }
  uint64_t OffsetOf(const void* p) const {
    return static_cast<uint64_t>(static_cast<const std::byte*>(p) - segment->data());
  }
  // Sends `req` on an idle channel (or a new one); returns the answer or its error.
  Result<KvLocalAnswer> Local(const KvLocalRequest& req) {
    std::unique_ptr<KvLocalChannel> ch;
    {
      std::lock_guard lock(mu);
      if (pid != ::getpid()) {
        // A forked child: the channels are the parent's, and one socket read by two processes
        // would hand each the other's answers. Closing our copies sends nothing.
        idle.clear();
        pid = ::getpid();
      }
      if (!idle.empty()) {
        ch = std::move(idle.back());
        idle.pop_back();
      }
    }
    if (!ch) {
      ASSIGN_OR_RETURN(ch,
                       KvLocalChannel::Connect(options.local_socket, *segment, options.timeout));
    }
    Result<KvLocalAnswer> a = ch->Call(req);
    if (!a.ok()) return a.status();  // the channel is dropped
    {
      std::lock_guard lock(mu);
      if (pid == ::getpid()) idle.push_back(std::move(ch));
    }
    if (!a->status.ok()) return a->status;
    return a;
  }
};

namespace {

// Returns the error a non-2xx answer carries.
Status ErrorOf(const HttpResponse& r) { return StatusFromAnswer(r, "unicache kv"); }

std::string KeyPath(std::string_view ns, std::string_view key) {
  return "/v1/kv/" + std::string(ns) + "/" + HexOf(key);
}

// Returns the check that a GET's answer carries the value of `key`, not another key's.
std::function<Status(const HttpResponse&)> AnswerOfKey(std::string_view key) {
  return [key_hex = HexOf(key)](const HttpResponse& head) {
    return CheckKvKeyAnswer(head, key_hex, "unicache kv get");
  };
}

HttpRequest Post(std::string path, std::string body) {
  HttpRequest req;
  req.method = "POST";
  req.url = std::move(path);
  req.body = std::move(body);
  req.headers.emplace_back("Content-Type", std::string(kKvBatchContentType));
  return req;
}

}  // namespace

KvClient::KvClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvClient::~KvClient() = default;

Result<std::unique_ptr<KvClient>> KvClient::Connect(const KvClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  std::string_view rest = options.peers;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    if (std::string_view n = rest.substr(0, comma); !n.empty()) impl->nodes.emplace_back(n);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
  }
  if (impl->nodes.empty()) return InvalidArgument("no KV node given (peers HOST:PORT,...)");
  if (!options.local_socket.empty()) {
    if (options.segment_bytes == 0) {
      return InvalidArgument("local_socket needs segment_bytes > 0 (the shared region's size)");
    }
    ASSIGN_OR_RETURN(impl->segment, SharedMemory::Create(options.segment_bytes, "unicache-kv"));
    ASSIGN_OR_RETURN(
        auto ch, KvLocalChannel::Connect(options.local_socket, *impl->segment, options.timeout));
    impl->idle.push_back(std::move(ch));
  }
  return std::unique_ptr<KvClient>(new KvClient(std::move(impl)));
}

std::span<std::byte> KvClient::segment() const {
  return impl_->segment ? impl_->segment->bytes() : std::span<std::byte>();
}

Status KvClient::Put(std::string_view ns, std::string_view key, std::span<const std::byte> value,
                     std::chrono::milliseconds ttl) {
  if (impl_->Inside(value.data(), value.size())) {
    KvPutSpec spec{key, value, ttl};
    ASSIGN_OR_RETURN(std::vector<Status> st, BatchPut(ns, std::span(&spec, 1)));
    return st[0];
  }
  HttpRequest req;
  req.method = "PUT";
  req.url = KeyPath(ns, key);
  if (ttl.count() > 0) req.url += "?ttl=" + std::to_string(ttl.count()) + "ms";
  if (ttl.count() < 0) req.url += "?ttl=forever";
  req.body.assign(reinterpret_cast<const char*>(value.data()), value.size());
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(std::move(req)));
  if (r.status != 200 && r.status != 201) return ErrorOf(r);
  return Status::Ok();
}

Result<size_t> KvClient::Get(std::string_view ns, std::string_view key, std::span<std::byte> dst,
                             std::string_view lease) {
  if (impl_->Inside(dst.data(), dst.size())) {
    std::string k(key);
    ASSIGN_OR_RETURN(std::vector<KvGetOutcome> out,
                     BatchGet(ns, std::span(&k, 1), std::span(&dst, 1), lease));
    RETURN_IF_ERROR(out[0].status);
    return out[0].size;
  }
  HttpRequest req;
  req.url = KeyPath(ns, key);
  if (!lease.empty()) req.url += "?lease=" + std::string(lease);
  req.body_sink = dst;
  req.check_head = AnswerOfKey(key);
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(std::move(req)));
  if (r.status != 200) return ErrorOf(r);
  return r.body_bytes;
}

Result<std::string> KvClient::Get(std::string_view ns, std::string_view key) {
  HttpRequest req;
  req.url = KeyPath(ns, key);
  req.check_head = AnswerOfKey(key);
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(std::move(req)));
  if (r.status != 200) return ErrorOf(r);
  return std::move(r.body);
}

Result<bool> KvClient::Delete(std::string_view ns, std::string_view key) {
  HttpRequest req;
  req.method = "DELETE";
  req.url = KeyPath(ns, key);
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(std::move(req)));
  if (r.status == 404) return false;
  if (r.status != 200) return ErrorOf(r);
  return true;
}

Result<std::vector<Status>> KvClient::BatchPut(std::string_view ns,
                                               std::span<const KvPutSpec> items) {
  bool local = impl_->segment != nullptr;
  for (const KvPutSpec& it : items)
    local = local && impl_->Inside(it.value.data(), it.value.size());
  if (local) {
    KvLocalRequest req;
    req.op = KvLocalOp::kPut;
    req.ns = ns;
    for (const KvPutSpec& it : items) {
      uint64_t ttl = it.ttl.count() < 0 ? UINT64_MAX : static_cast<uint64_t>(it.ttl.count());
      req.items.push_back(
          KvLocalItem{std::string(it.key), impl_->OffsetOf(it.value.data()), it.value.size(), ttl});
    }
    ASSIGN_OR_RETURN(KvLocalAnswer a, impl_->Local(req));
    if (a.statuses.size() != items.size()) return Internal("put answer has the wrong item count");
    std::vector<Status> out;
    for (KvItemStatus st : a.statuses) out.push_back(StatusOfItem(st));
    return out;
  }
  std::vector<KvPutItem> wire;
  wire.reserve(items.size());
  for (const KvPutSpec& it : items) {
    uint64_t ttl = it.ttl.count() < 0 ? UINT64_MAX : static_cast<uint64_t>(it.ttl.count());
    wire.push_back(KvPutItem{
        it.key, std::string_view(reinterpret_cast<const char*>(it.value.data()), it.value.size()),
        ttl});
  }
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(Post("/v1/kv/" + std::string(ns) + "/batch-put",
                                                    EncodePutBatch(wire))));
  if (r.status != 200) return ErrorOf(r);
  ASSIGN_OR_RETURN(std::vector<KvItemStatus> st, DecodeStatusList(r.body));
  if (st.size() != items.size()) return Internal("batch-put answer has the wrong item count");
  std::vector<Status> out;
  for (KvItemStatus s : st) out.push_back(StatusOfItem(s));
  return out;
}

Result<std::vector<KvGetOutcome>> KvClient::BatchGet(std::string_view ns,
                                                     std::span<const std::string> keys,
                                                     std::span<const std::span<std::byte>> dsts,
                                                     std::string_view lease) {
  if (dsts.size() != keys.size()) return InvalidArgument("one destination buffer per key");
  bool local = impl_->segment != nullptr;
  for (const std::span<std::byte>& d : dsts) local = local && impl_->Inside(d.data(), d.size());
  if (local) {
    KvLocalRequest req;
    req.op = KvLocalOp::kGet;
    req.ns = ns;
    req.lease = lease;
    for (size_t i = 0; i < keys.size(); ++i) {
      req.items.push_back(KvLocalItem{keys[i], impl_->OffsetOf(dsts[i].data()), dsts[i].size(), 0});
    }
    ASSIGN_OR_RETURN(KvLocalAnswer a, impl_->Local(req));
    if (a.statuses.size() != keys.size()) return Internal("get answer has the wrong item count");
    std::vector<KvGetOutcome> out(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      out[i].size = a.lengths[i];
      if (a.statuses[i] == KvItemStatus::kResourceExhausted) {
        out[i].status = ResourceExhausted("buffer of " + std::to_string(dsts[i].size()) +
                                          " bytes for a value of " + std::to_string(a.lengths[i]));
      } else {
        out[i].status = StatusOfItem(a.statuses[i]);
      }
    }
    return out;
  }
  std::string path = "/v1/kv/" + std::string(ns) + "/batch-get";
  if (!lease.empty()) path += "?lease=" + std::string(lease);
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(Post(path, EncodeKeyList(keys))));
  if (r.status != 200) return ErrorOf(r);
  ASSIGN_OR_RETURN(KvGetHead head, DecodeGetHead(r.body));
  if (head.statuses.size() != keys.size()) return Internal("batch-get answer has the wrong count");
  std::vector<KvGetOutcome> out(keys.size());
  size_t offset = GetHeadSize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    out[i].status = StatusOfItem(head.statuses[i]);
    if (head.statuses[i] != KvItemStatus::kOk) continue;
    size_t len = head.lengths[i];
    if (offset + len > r.body.size()) return Unavailable("batch-get answer cut short");
    out[i].size = len;
    if (len > dsts[i].size()) {
      out[i].status = ResourceExhausted("buffer of " + std::to_string(dsts[i].size()) +
                                        " bytes for a value of " + std::to_string(len));
    } else {
      std::memcpy(dsts[i].data(), r.body.data() + offset, len);
    }
    offset += len;
  }
  return out;
}

Result<std::vector<bool>> KvClient::BatchExists(std::string_view ns,
                                                std::span<const std::string> keys) {
  if (impl_->segment) {
    KvLocalRequest req;
    req.op = KvLocalOp::kExists;
    req.ns = ns;
    for (const std::string& k : keys) req.items.push_back(KvLocalItem{k, 0, 0, 0});
    ASSIGN_OR_RETURN(KvLocalAnswer a, impl_->Local(req));
    std::vector<bool> out;
    for (KvItemStatus s : a.statuses) out.push_back(s == KvItemStatus::kOk);
    return out;
  }
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(Post("/v1/kv/" + std::string(ns) + "/batch-exists",
                                                    EncodeKeyList(keys))));
  if (r.status != 200) return ErrorOf(r);
  ASSIGN_OR_RETURN(std::vector<KvItemStatus> st, DecodeStatusList(r.body));
  std::vector<bool> out;
  for (KvItemStatus s : st) out.push_back(s == KvItemStatus::kOk);
  return out;
}

Result<KvClient::PrefixMatchResult> KvClient::PrefixMatch(std::string_view ns,
                                                          std::span<const std::string> keys,
                                                          std::chrono::milliseconds lease) {
  if (impl_->segment) {
    KvLocalRequest req;
    req.op = KvLocalOp::kPrefixMatch;
    req.ns = ns;
    req.lease_ms = lease.count() > 0 ? static_cast<uint64_t>(lease.count()) : 0;
    for (const std::string& k : keys) req.items.push_back(KvLocalItem{k, 0, 0, 0});
    ASSIGN_OR_RETURN(KvLocalAnswer a, impl_->Local(req));
    return PrefixMatchResult{a.matched, std::move(a.lease_id)};
  }
  std::string path = "/v1/kv/" + std::string(ns) + "/prefix-match";
  if (lease.count() > 0) path += "?lease=" + std::to_string(lease.count());
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(Post(path, EncodeKeyList(keys))));
  if (r.status != 200) return ErrorOf(r);
  ASSIGN_OR_RETURN(auto answer, DecodePrefixAnswer(r.body));
  return PrefixMatchResult{answer.first, std::move(answer.second)};
}

Result<bool> KvClient::Release(std::string_view ns, std::string_view lease) {
  if (impl_->segment) {
    KvLocalRequest req;
    req.op = KvLocalOp::kRelease;
    req.ns = ns;
    req.lease = lease;
    ASSIGN_OR_RETURN(KvLocalAnswer a, impl_->Local(req));
    return a.released;
  }
  ASSIGN_OR_RETURN(
      HttpResponse r,
      impl_->Send(Post("/v1/kv/" + std::string(ns) + "/release?lease=" + std::string(lease), "")));
  if (r.status != 200) return ErrorOf(r);
  return r.body.find("true") != std::string::npos;
}

Result<std::string> KvClient::StatsJson() {
  HttpRequest req;
  req.url = "/v1/kv";
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(std::move(req)));
  if (r.status != 200) return ErrorOf(r);
  return std::move(r.body);
}

Result<std::string> KvClient::ListJson(std::string_view ns, size_t limit) {
  HttpRequest req;
  req.url = "/v1/kv/" + std::string(ns) + "?limit=" + std::to_string(limit);
  ASSIGN_OR_RETURN(HttpResponse r, impl_->Send(std::move(req)));
  if (r.status != 200) return ErrorOf(r);
  return std::move(r.body);
}

}  // namespace unicache

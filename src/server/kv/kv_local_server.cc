#include "server/kv/kv_local_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

namespace unicache {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace {

// Reads exactly `n` bytes, keeping a descriptor that rides along in `*fd`. False at end of
// stream or on an error.
asio::awaitable<bool> ReadExact(local::socket& s, char* buf, size_t n, int* fd) {
  while (n > 0) {
    long r = RecvWithFd(s.native_handle(), buf, n, fd);
    if (r > 0) {
      buf += r;
      n -= static_cast<size_t>(r);
      continue;
    }
    if (r == 0) co_return false;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return false;
    boost::system::error_code ec;
    co_await s.async_wait(local::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
  }
  co_return true;
}

// Returns whether a live process accepts connections on `path`.
bool SocketInUse(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return live;
}

std::string_view OpName(KvLocalOp op) {
  switch (op) {
    case KvLocalOp::kRegister:
      return "register";
    case KvLocalOp::kGet:
      return "get";
    case KvLocalOp::kExists:
      return "exists";
    case KvLocalOp::kPut:
      return "put";
    case KvLocalOp::kPrefixMatch:
      return "prefix_match";
    case KvLocalOp::kRelease:
      return "release";
  }
  return "unknown";
}

}  // namespace

KvLocalServer::KvLocalServer(KvLocalServerOptions options, KvService* service,
                             MetricsRegistry* metrics)
    : options_(std::move(options)),
      service_(service),
      bytes_in_(&metrics->GetCounter("unicache_kv_local_bytes_total", {{"direction", "in"}},
                                     "KV value bytes copied through shared memory.")),
      bytes_out_(&metrics->GetCounter("unicache_kv_local_bytes_total", {{"direction", "out"}})),
      requests_(&metrics->GetCounter("unicache_kv_local_requests_total", {},
                                     "Requests served on the KV shared-memory socket.")),
      acceptor_(io_) {}

Result<std::unique_ptr<KvLocalServer>> KvLocalServer::Start(const KvLocalServerOptions& options,
                                                            KvService* service,
                                                            MetricsRegistry* metrics) {
  const std::string& path = options.socket_path;
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
    return InvalidArgument("KV socket path '" + path + "' must be 1.." +
                           std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                           " bytes; choose a shorter --kv-socket");
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return InvalidArgument("--kv-socket " + path + " exists and is not a socket; remove it");
    }
    if (SocketInUse(path)) {
      return Unavailable("another process serves on --kv-socket " + path +
                         "; stop it or choose another path");
    }
    ::unlink(path.c_str());  // stale: left by a node that died
  }
  std::unique_ptr<KvLocalServer> s(new KvLocalServer(options, service, metrics));
  boost::system::error_code ec;
  s->acceptor_.open(local(), ec);
  if (!ec) s->acceptor_.bind(local::endpoint(path), ec);
  if (!ec) s->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("cannot listen on --kv-socket " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0660);
  asio::co_spawn(s->io_, s->Accept(), asio::detached);
  for (size_t i = 0; i < std::max<size_t>(1, options.threads); ++i) {
    s->threads_.emplace_back([raw = s.get()] { raw->io_.run(); });
  }
  spdlog::info("KV shared-memory path on {}", path);
  return s;
}

KvLocalServer::~KvLocalServer() { Stop(); }

void KvLocalServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  io_.stop();
  for (std::thread& t : threads_) t.join();
  ::unlink(options_.socket_path.c_str());
}

asio::awaitable<void> KvLocalServer::Accept() {
  for (;;) {
    boost::system::error_code ec;
    local::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> KvLocalServer::Serve(local::socket socket) {
  std::unique_ptr<SharedMemory> segment;
  int fd = -1;
  std::string payload;
  for (;;) {
    char head[4];
    if (!co_await ReadExact(socket, head, 4, &fd)) break;
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= uint32_t(static_cast<uint8_t>(head[i])) << (8 * i);
    KvLocalAnswer answer;
    KvLocalOp op = KvLocalOp::kRegister;
    bool fatal = len == 0 || len > kKvLocalMaxFrame;
    if (fatal) {
      answer.status = InvalidArgument("frame of " + std::to_string(len) + " bytes; 1.." +
                                      std::to_string(kKvLocalMaxFrame) + " allowed");
    } else {
      payload.resize(len);
      if (!co_await ReadExact(socket, payload.data(), len, &fd)) break;
      Result<KvLocalRequest> req = DecodeLocalRequest(payload);
      if (!req.ok()) {
        answer.status = req.status();
      } else {
        op = req->op;
        requests_->Inc();
        if (op == KvLocalOp::kRegister) {
          if (fd < 0) {
            answer.status = InvalidArgument("register carries no descriptor (send it SCM_RIGHTS)");
          } else {
            Result<std::unique_ptr<SharedMemory>> m = SharedMemory::Map(fd);
            fd = -1;  // Map owns it now
            if (m.ok() && (*m)->size() < req->segment_bytes) {
              answer.status = InvalidArgument("the segment is smaller than announced");
            } else if (m.ok()) {
              segment = std::move(m).value();
            } else {
              answer.status = m.status();
            }
          }
        } else {
          answer = co_await Dispatch(*req, segment.get());
        }
      }
    }
    std::string frame = Frame(EncodeLocalAnswer(op, answer));
    boost::system::error_code ec;
    co_await asio::async_write(socket, asio::buffer(frame),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec || fatal) break;
  }
  if (fd >= 0) ::close(fd);
}

asio::awaitable<KvLocalAnswer> KvLocalServer::Dispatch(const KvLocalRequest& req,
                                                       SharedMemory* segment) {
  KvLocalAnswer answer;
  KvScope scope;
  scope.ns = req.ns;
  scope.config = service_->store().FindNamespace(req.ns);
  if (scope.config == nullptr) {
    answer.status = NotFound("unknown KV namespace '" + req.ns +
                             "' (configure it on every node: --kv-namespace NAME=QUOTA)");
    co_return answer;
  }
  if ((req.op == KvLocalOp::kGet || req.op == KvLocalOp::kPut) && segment == nullptr) {
    answer.status = InvalidArgument("register a shared-memory segment first");
    co_return answer;
  }
  std::vector<std::string> keys;
  if (req.op == KvLocalOp::kExists || req.op == KvLocalOp::kPrefixMatch) {
    keys.reserve(req.items.size());
    for (const KvLocalItem& it : req.items) keys.push_back(it.key);
  }
  switch (req.op) {
    case KvLocalOp::kGet:
      co_return co_await Get(scope, req, *segment);
    case KvLocalOp::kPut:
      co_return co_await Put(scope, req, *segment);
    case KvLocalOp::kExists: {
      const std::string no_lease;
      KvBatchGetAnswer a = co_await service_->BatchGet(scope, keys, no_lease, true);
      answer.statuses = std::move(a.statuses);
      co_return answer;
    }
    case KvLocalOp::kPrefixMatch: {
      const std::string no_lease;
      Result<KvPrefixAnswer> a =
          co_await service_->PrefixMatch(scope, keys, req.lease_ms, no_lease);
      if (!a.ok()) {
        answer.status = a.status();
      } else {
        answer.matched = a->matched;
        answer.lease_id = a->lease_id;
      }
      co_return answer;
    }
    case KvLocalOp::kRelease:
      answer.released = co_await service_->Release(scope, req.lease);
      co_return answer;
    case KvLocalOp::kRegister:
      break;
  }
  answer.status =
      InvalidArgument(std::string("unexpected operation ") + std::string(OpName(req.op)));
  co_return answer;
}

asio::awaitable<KvLocalAnswer> KvLocalServer::Get(const KvScope& scope, const KvLocalRequest& req,
                                                  SharedMemory& segment) {
  const size_t n = req.items.size();
  KvLocalAnswer answer;
  answer.statuses.assign(n, KvItemStatus::kInvalidArgument);
  answer.lengths.assign(n, 0);
  std::vector<std::string> keys;
  std::vector<size_t> index;  // request item of each key asked for
  for (size_t i = 0; i < n; ++i) {
    const KvLocalItem& it = req.items[i];
    if (!segment.Contains(it.offset, it.length)) continue;  // outside the segment: invalid
    keys.push_back(it.key);
    index.push_back(i);
  }
  KvBatchGetAnswer got = co_await service_->BatchGet(scope, keys, req.lease, false);
  uint64_t copied = 0;
  for (size_t j = 0; j < keys.size(); ++j) {
    size_t i = index[j];
    answer.statuses[i] = got.statuses[j];
    if (got.statuses[j] != KvItemStatus::kOk) continue;
    std::string_view v = got.values[j];
    answer.lengths[i] = v.size();
    if (v.size() > req.items[i].length) {
      answer.statuses[i] = KvItemStatus::kResourceExhausted;  // does not fit: size reported
      continue;
    }
    std::memcpy(segment.data() + req.items[i].offset, v.data(), v.size());
    copied += v.size();
  }
  bytes_out_->Inc(copied);
  co_return answer;
}

asio::awaitable<KvLocalAnswer> KvLocalServer::Put(const KvScope& scope, const KvLocalRequest& req,
                                                  SharedMemory& segment) {
  const size_t n = req.items.size();
  KvLocalAnswer answer;
  answer.statuses.assign(n, KvItemStatus::kInvalidArgument);
  std::vector<KvPutItem> items;
  std::vector<size_t> index;
  uint64_t bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    const KvLocalItem& it = req.items[i];
    if (!segment.Contains(it.offset, it.length)) continue;
    KvPutItem p;
    p.key = it.key;
    p.value = std::string_view(reinterpret_cast<const char*>(segment.data() + it.offset),
                               static_cast<size_t>(it.length));
    p.ttl_ms = it.ttl_ms;
    items.push_back(p);
    index.push_back(i);
    bytes += it.length;
  }
  std::vector<KvItemStatus> statuses = co_await service_->BatchPut(scope, items);
  for (size_t j = 0; j < index.size(); ++j) answer.statuses[index[j]] = statuses[j];
  bytes_in_->Inc(bytes);
  co_return answer;
}

}  // namespace unicache

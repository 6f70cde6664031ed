#include "server/node.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/cluster_info.h"
#include "cluster/member.h"
#include "cluster/membership.h"
#include "cluster/peer_client.h"
#include "cluster/router.h"
#include "common/text.h"
#include "common/units.h"
#include "origin/origin.h"
#include "server/http/http_server.h"
#include "server/http/request_target.h"
#include "server/kv/kv_local_server.h"
#include "server/kv/kv_routes.h"
#include "server/memory_budget.h"
#include "server/objects/object_routes.h"
#include "server/objects/object_service.h"
#include "server/s3/s3_error.h"
#include "server/s3/s3_routes.h"
#include "store/block_store.h"

namespace unicache {

namespace asio = boost::asio;
namespace http = boost::beast::http;

Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("bad address '" + text + "': expected HOST:PORT, e.g. 127.0.0.1:8470");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string port_text = text.substr(colon + 1);
  std::optional<uint16_t> port = ParseDecimal<uint16_t>(port_text);
  if (!port) return InvalidArgument("bad port in '" + text + "': expected 0-65535");
  return std::make_pair(host, *port);
}

Status ValidateNodeOptions(const NodeOptions& o) {
  RETURN_IF_ERROR(ParseListenAddress(o.listen).status().WithContext("--listen"));
  if (o.origins.empty()) {
    return InvalidArgument("no origin: give at least one --origin NAME=URI (or a directory)");
  }
  if (o.cache_dir.empty()) return InvalidArgument("--cache-dir is required");
  if (o.block_size < 4096 || o.block_size > (256ull << 20)) {
    return InvalidArgument("--block-size must be between 4KiB and 256MiB");
  }
  if (o.ram_bytes < o.block_size) {
    return InvalidArgument("--ram must hold at least one block (" + FormatSize(o.block_size) + ")");
  }
  if (o.fetch_run_bytes != 0 &&
      (o.fetch_run_bytes < 2 * o.block_size || o.fetch_run_bytes > o.ram_bytes)) {
    return InvalidArgument("--fetch-run must be 0 or between two blocks (" +
                           FormatSize(2 * o.block_size) + ") and --ram (" +
                           FormatSize(o.ram_bytes) + ")");
  }
  for (auto [flag, n] : {std::pair{"--origin-threads", o.origin_threads},
                         {"--ssd-threads", o.ssd_threads},
                         {"--peer-threads", o.peer_threads},
                         {"--kv-threads", o.kv_threads}}) {
    if (n == 0 || n > 4096) return InvalidArgument(std::string(flag) + " must be in 1..4096");
  }
  if (o.queue_deadline.count() <= 0) return InvalidArgument("--queue-deadline must be > 0");
  if (!o.peers.empty() && !o.discovery.empty()) {
    return InvalidArgument("give either --peers or --discovery, not both");
  }
  bool clustered = !o.peers.empty() || !o.discovery.empty();
  ASSIGN_OR_RETURN(auto listen, ParseListenAddress(o.listen));
  if (clustered && o.advertise.empty() &&
      (listen.second == 0 || listen.first == "0.0.0.0" || listen.first == "::")) {
    return InvalidArgument(
        "in a cluster, give --advertise HOST:PORT (or a concrete --listen address and port)");
  }
  if (!o.advertise.empty())
    RETURN_IF_ERROR(ParseHostPort(o.advertise).status().WithContext("--advertise"));
  if (!(o.weight > 0) || o.weight > 1e6) return InvalidArgument("--weight must be > 0");
  RETURN_IF_ERROR(ReplicaPolicy::Parse(o.replicas, o.replica_rules).status());
  for (const std::string& ns : o.kv_namespaces) {
    RETURN_IF_ERROR(ParseKvNamespace(ns).status().WithContext("--kv-namespace"));
  }
  std::map<std::string, int> names;
  for (const std::string& text : o.origins) {
    ASSIGN_OR_RETURN(OriginSpec spec, ParseOriginSpec(text));
    if (names[spec.name]++) return InvalidArgument("origin '" + spec.name + "' given twice");
  }
  return Status::Ok();
}

namespace {

// Returns a port that is free on `host` now (what listening on port 0 would pick).
Result<uint16_t> PickFreePort(const std::string& host) {
  asio::io_context io;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgument("bad listen address '" + host + "': " + ec.message());
  asio::ip::tcp::acceptor acceptor(io);
  asio::ip::tcp::endpoint ep(address, 0);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (ec) return Unavailable("cannot pick a free port on " + host + ": " + ec.message());
  return acceptor.local_endpoint().port();
}

}  // namespace

struct Node::Impl {
  NodeOptions options;
  std::string host;
  MetricsRegistry metrics;
  std::unique_ptr<BlockStore> store;
  std::unique_ptr<Router> router;
  std::unique_ptr<PeerClient> peers;
  std::unique_ptr<ObjectService> service;
  Counter* peer_bytes_out = nullptr;
  Gauge* resident = nullptr;
  std::unique_ptr<ObjectRoutes> objects;
  std::unique_ptr<KvStore> kv_store;
  std::unique_ptr<KvCluster> kv_cluster;
  std::unique_ptr<BoundedExecutor> kv_executor;
  std::unique_ptr<KvService> kv_service;
  std::unique_ptr<KvRoutes> kv;
  std::unique_ptr<KvLocalServer> kv_local;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<S3Routes> s3;
  std::unique_ptr<HttpServer> s3_server;
  std::atomic<bool> draining{false};
  bool stopped = false;

  // Returns the /v1/members body: the membership view, plus what a client needs to compute
  // block keys and owners itself; with ?since=VERSION of a view this node still holds, only
  // the changes since it.
  std::string MembersJson(const RequestTarget& target) const {
    std::optional<ViewChanges> changes;
    std::shared_ptr<const MemberView> view = router->view();
    if (std::optional<uint64_t> v = ParseDecimal<uint64_t>(target.Param("since"))) {
      changes = router->ChangesSince(*v, &view);
    }
    return ClusterInfoToJson(*view, router->placement()->policy(), options.block_size,
                             router->self().id, changes ? &*changes : nullptr);
  }
  asio::awaitable<void> Handle(const Request& req, RequestBody& body, ResponseWriter& writer);
  asio::awaitable<void> Admin(const RequestTarget& target, ResponseWriter& writer);
};

asio::awaitable<void> Node::Impl::Admin(const RequestTarget& target, ResponseWriter& writer) {
  writer.set_frontend("admin");
  if (target.path == "/healthz") co_return co_await writer.Send(200, "ok\n");
  if (target.path == "/readyz") {
    // Serving at all means the SSD index is loaded (the store opens before the server starts).
    if (draining) co_return co_await writer.Send(503, "draining\n");
    if (router->view()->members.empty()) {
      co_return co_await writer.Send(503, "waiting for the membership view\n");
    }
    co_return co_await writer.Send(200, "ready\n");
  }
  if (target.path == "/metrics") {
    resident->Set(static_cast<int64_t>(ResidentBytes()));
    co_return co_await writer.Send(200, metrics.Render(), "text/plain; version=0.0.4");
  }
  co_await writer.Send(200, MembersJson(target), "application/json");
}

asio::awaitable<void> Node::Impl::Handle(const Request& req, RequestBody& body,
                                         ResponseWriter& writer) {
  Result<RequestTarget> target = ParseRequestTarget(req.target());
  if (!target.ok()) co_return co_await writer.SendError(400, target.status());
  const std::string& path = target->path;
  bool read = req.method() == http::verb::get || req.method() == http::verb::head;

  auto split_origin = [](std::string_view rest) {
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::make_pair(std::string(rest), std::string());
    return std::make_pair(std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1)));
  };
  if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/members") {
    if (!read)
      co_return co_await writer.SendError(405, InvalidArgument("use GET"),
                                          Header("Allow", "GET, HEAD"));
    co_return co_await Admin(*target, writer);
  }
  if (path == "/v1/kv" || path.starts_with("/v1/kv/"))
    co_return co_await kv->Handle(req, writer, *target);
  constexpr std::string_view kObjects = "/v1/objects/";
  constexpr std::string_view kList = "/v1/list/";
  if (path.starts_with(kObjects)) {
    auto [origin, object] = split_origin(std::string_view(path).substr(kObjects.size()));
    if (req.method() == http::verb::put)
      co_return co_await objects->PutObject(req, body, writer, origin, object);
    if (!read)
      co_return co_await writer.SendError(405, InvalidArgument("use GET, HEAD or PUT"),
                                          Header("Allow", "GET, HEAD, PUT"));
    co_await objects->GetObject(req, writer, origin, object);
    if (writer.frontend() == "peer") peer_bytes_out->Inc(writer.body_bytes());
    co_return;
  }
  if (path.starts_with(kList) || path + "/" == kList) {
    if (!read)
      co_return co_await writer.SendError(405, InvalidArgument("use GET"),
                                          Header("Allow", "GET, HEAD"));
    std::string_view rest =
        path.size() > kList.size() ? std::string_view(path).substr(kList.size()) : "";
    auto [origin, prefix] = split_origin(rest);
    if (origin.empty())
      co_return co_await writer.SendError(
          400, InvalidArgument("missing origin name: /v1/list/<origin>/<prefix>"));
    co_return co_await objects->List(*target, writer, origin, prefix);
  }
  co_await writer.SendError(404, NotFound("no such endpoint: " + path));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() { Stop(); }

Result<std::unique_ptr<Node>> Node::Start(const NodeOptions& options) {
  RETURN_IF_ERROR(ValidateNodeOptions(options));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  ASSIGN_OR_RETURN(auto host_port, ParseListenAddress(options.listen));
  if (host_port.second == 0) {
    // Port 0 means "pick a free one": pick it now, so this member's address has a real port.
    ASSIGN_OR_RETURN(host_port.second, PickFreePort(host_port.first));
    std::string host = host_port.first.find(':') != std::string::npos ? "[" + host_port.first + "]"
                                                                      : host_port.first;
    impl->options.listen = host + ":" + std::to_string(host_port.second);
  }
  impl->host = host_port.first;

  std::map<std::string, std::unique_ptr<Origin>> origins;
  for (const std::string& text : options.origins) {
    ASSIGN_OR_RETURN(OriginSpec spec, ParseOriginSpec(text));
    // errors name the origin
    ASSIGN_OR_RETURN(origins[spec.name],
                     OpenOrigin(spec, static_cast<int>(options.origin_threads)));
  }

  StoreOptions store_options;
  store_options.dir = options.cache_dir;
  store_options.ram_bytes = options.ram_bytes;
  store_options.ssd_bytes = options.ssd_bytes;
  store_options.metrics = &impl->metrics;
  Result<std::unique_ptr<BlockStore>> store = BlockStore::Open(store_options);
  if (!store.ok()) return store.status().WithContext("cache dir " + options.cache_dir);
  impl->store = std::move(store).value();

  // Membership and routing. A node alone is a static cluster of itself.
  Member self;
  self.address = options.advertise.empty() ? impl->options.listen : options.advertise;
  self.id = options.node_id.empty() ? self.address : options.node_id;
  self.weight = options.weight;
  self.zone = options.zone;
  MembershipOptions membership_options;
  membership_options.peers =
      options.peers.empty() && options.discovery.empty() ? self.address : options.peers;
  membership_options.discovery = options.discovery;
  membership_options.self = self;
  membership_options.etcd_ttl = options.etcd_ttl;
  membership_options.member_grace = options.member_grace;
  ASSIGN_OR_RETURN(std::unique_ptr<Membership> membership, OpenMembership(membership_options));
  RouterOptions router_options;
  ASSIGN_OR_RETURN(router_options.replicas,
                   ReplicaPolicy::Parse(options.replicas, options.replica_rules));
  router_options.hot_threshold = options.hot_threshold;
  ASSIGN_OR_RETURN(impl->router,
                   Router::Start(self, std::move(membership), router_options, &impl->metrics));
  if (!options.peers.empty() && impl->router->placement()->Find(self.id) == nullptr) {
    spdlog::warn(
        "this node ({}) is not in --peers: it will forward every miss to the listed members",
        self.id);
  }
  // A peer may hold half the peer threads: a hung one leaves the other half to the others.
  impl->peers = std::make_unique<PeerClient>(self.id, &impl->metrics, std::chrono::seconds(30),
                                             std::max<size_t>(1, options.peer_threads / 2));
  impl->peer_bytes_out =
      &impl->metrics.GetCounter("unicache_peer_bytes_total", {{"direction", "out"}},
                                "Block bytes exchanged with other nodes.");

  ObjectServiceOptions service_options;
  service_options.origin_threads = options.origin_threads;
  service_options.ssd_threads = options.ssd_threads;
  service_options.peer_threads = options.peer_threads;
  service_options.queue_deadline = options.queue_deadline;
  service_options.upload_keep_bytes = std::max(options.block_size, options.ram_bytes / 4);
  service_options.metadata_entries = MetadataEntriesFor(options.ram_bytes);
  service_options.block_size = options.block_size;
  service_options.fetch_run_bytes = options.fetch_run_bytes;
  service_options.metadata_ttl =
      options.immutable ? std::chrono::milliseconds::max() : options.metadata_ttl;
  service_options.stale_if_error = options.stale_if_error;
  impl->service =
      std::make_unique<ObjectService>(service_options, impl->store.get(), std::move(origins),
                                      &impl->metrics, impl->router.get(), impl->peers.get());
  impl->objects = std::make_unique<ObjectRoutes>(impl->service.get(), options.readahead_blocks);

  KvStoreOptions kv_options;
  for (const std::string& spec : options.kv_namespaces) {
    ASSIGN_OR_RETURN(KvNamespaceConfig ns, ParseKvNamespace(spec));
    kv_options.namespaces.push_back(std::move(ns));
  }
  kv_options.ram_bytes = options.kv_ram_bytes;
  uint64_t kv_bytes = kv_options.ram_bytes;
  if (kv_bytes == 0) {
    for (const KvNamespaceConfig& ns : kv_options.namespaces) kv_bytes += ns.quota_bytes;
  }
  for (const BudgetTerm& term : MemoryBudget(options, kv_bytes, options.origins.size())) {
    impl->metrics
        .GetGauge("unicache_memory_budget_bytes", {{"term", term.what}},
                  "What the configuration bounds the node's memory to, by what holds it (sum "
                  "them for the budget; docs/RELIABILITY.md).")
        .Set(static_cast<int64_t>(term.bytes));
  }
  impl->resident = &impl->metrics.GetGauge("unicache_memory_resident_bytes", {},
                                           "The node's resident memory (RSS) when scraped.");
  kv_options.metrics = &impl->metrics;
  ASSIGN_OR_RETURN(impl->kv_store, KvStore::Create(std::move(kv_options)));
  impl->kv_cluster = std::make_unique<KvCluster>(impl->router.get(), &impl->metrics);
  impl->kv_executor = std::make_unique<BoundedExecutor>(
      ExecutorOptions{"kv", options.kv_threads, QueueLengthFor(options.kv_threads),
                      options.queue_deadline},
      &impl->metrics);
  impl->kv_service = std::make_unique<KvService>(impl->kv_store.get(), impl->kv_cluster.get(),
                                                 impl->kv_executor.get());
  impl->kv = std::make_unique<KvRoutes>(impl->kv_service.get(), impl->kv_cluster.get(),
                                        impl->kv_executor.get());
  if (!options.kv_namespaces.empty() && options.kv_socket != "off") {
    KvLocalServerOptions local_options;
    local_options.socket_path =
        options.kv_socket.empty() ? (std::filesystem::path(options.cache_dir) / "kv.sock").string()
                                  : options.kv_socket;
    ASSIGN_OR_RETURN(impl->kv_local,
                     KvLocalServer::Start(local_options, impl->kv_service.get(), &impl->metrics));
  }

  HttpServerOptions http_options;
  http_options.host = host_port.first;
  http_options.port = host_port.second;
  http_options.threads = options.io_threads;
  http_options.max_connections = options.max_connections;
  // Object uploads stream to their origin; other bodies (KV values and batches) are read whole,
  // within a budget for all connections.
  http_options.stream_body = [](const Request& header) {
    return header.method() == http::verb::put && header.target().starts_with("/v1/objects/");
  };
  http_options.stream_body_limit = options.max_upload_bytes;
  const BufferedBodies bodies = BufferedBodiesFor(!options.kv_namespaces.empty());
  http_options.body_limit = bodies.limit;
  http_options.buffered_body_budget = bodies.budget;
  Impl* raw = impl.get();
  ASSIGN_OR_RETURN(impl->server, HttpServer::Start(
                                     http_options,
                                     [raw](const Request& req, RequestBody& body,
                                           ResponseWriter& w) { return raw->Handle(req, body, w); },
                                     &impl->metrics));
  if (!options.s3_listen.empty()) {
    S3RoutesOptions s3_options;
    if (!options.s3_keys.empty()) {
      ASSIGN_OR_RETURN(s3_options.auth.keys, S3Keys::Load(options.s3_keys));
    }
    if (s3_options.auth.keys.empty() && !options.s3_anonymous) {
      return InvalidArgument(
          "--s3-listen needs --s3-keys FILE with at least one key, or --s3-anonymous for "
          "unsigned reads");
    }
    s3_options.auth.anonymous_reads = options.s3_anonymous;
    s3_options.domain = options.s3_domain;
    s3_options.region = options.s3_region;
    impl->s3 = std::make_unique<S3Routes>(std::move(s3_options), impl->service.get(),
                                          impl->objects.get(), &impl->metrics);
    ASSIGN_OR_RETURN(auto s3_host_port, ParseListenAddress(options.s3_listen));
    HttpServerOptions s3_http = http_options;
    s3_http.host = s3_host_port.first;
    s3_http.port = s3_host_port.second;
    // Object and part uploads stream to the origin (aws-chunked framing adds a little);
    // the bodies read whole are small XML documents (DeleteObjects, CompleteMultipartUpload).
    s3_http.stream_body = [](const Request& header) { return header.method() == http::verb::put; };
    s3_http.stream_body_limit =
        options.max_upload_bytes + options.max_upload_bytes / 64 + (1 << 20);
    s3_http.body_limit = 4 << 20;
    s3_http.buffered_body_budget = 64 << 20;
    s3_http.error_format = S3ErrorFormat();
    S3Routes* s3 = impl->s3.get();
    ASSIGN_OR_RETURN(impl->s3_server,
                     HttpServer::Start(
                         s3_http,
                         [s3](const Request& req, RequestBody& body, ResponseWriter& w) {
                           return s3->Handle(req, body, w);
                         },
                         &impl->metrics));
  }
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

uint16_t Node::port() const { return impl_->server->port(); }

uint16_t Node::s3_port() const { return impl_->s3_server ? impl_->s3_server->port() : 0; }

std::string Node::address() const {
  std::string host = impl_->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(port());
}

MetricsRegistry& Node::metrics() { return impl_->metrics; }

void Node::Drain(std::chrono::milliseconds delay, std::chrono::milliseconds timeout) {
  if (!impl_ || impl_->stopped || impl_->draining.exchange(true)) return;
  spdlog::info(
      "draining: not ready, leaving the membership; new connections for {} ms, then "
      "the requests being served (at most {} ms in all)",
      delay.count(), timeout.count());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  impl_->router->Leave();
  std::vector<HttpServer*> servers = {impl_->server.get()};
  if (impl_->s3_server) servers.push_back(impl_->s3_server.get());
  for (HttpServer* s : servers) s->Drain();
  std::this_thread::sleep_until(std::min(deadline, std::chrono::steady_clock::now() + delay));
  for (HttpServer* s : servers) s->StopAccepting();
  size_t unfinished = 0;
  for (HttpServer* s : servers) unfinished += s->WaitDrained(deadline);
  if (unfinished > 0) {
    spdlog::warn("drain: {} requests still being served after {} ms are cut off", unfinished,
                 timeout.count());
  }
}

void Node::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->kv_local) impl_->kv_local->Stop();
  if (impl_->s3_server) impl_->s3_server->Stop();
  impl_->server->Stop();
  // The event loops are stopped but kept: work still running resumes its coroutines by posting
  // to them.
  impl_->service->Stop();
  impl_->kv_cluster->Cancel();
  impl_->kv_executor->Stop();
  impl_->store->Flush();
  impl_->router.reset();  // leaves the cluster (etcd revokes the lease)
}

}  // namespace unicache

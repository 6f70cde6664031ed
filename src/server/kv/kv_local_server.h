// KvLocalServer: the node's end of the KV shared-memory path (docs/KV.md, "Shared-memory path";
// protocol in kv/local_protocol.h). Listens on a Unix socket; each connection registers one
// client memfd, which the node maps; then gets copy values straight from the store into the
// client's region and puts copy them straight out of it. Only small descriptors cross the socket.
// Keys this node does not own are fetched from (or stored on) their owners through KvService,
// exactly as for HTTP requests.
#pragma once

#include <utility>  // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "kv/local_protocol.h"
#include "kv/shared_memory.h"
#include "server/kv/kv_service.h"

namespace unicache {

struct KvLocalServerOptions {
  std::string socket_path;  // created with mode 0660; a stale socket file is replaced
  size_t threads = 2;       // event loops (copies run on them)
};

// Thread-safe; borrows the service, which must outlive it.
class KvLocalServer {
 public:
  // FailedPrecondition-like errors (as InvalidArgument/Unavailable) when the path is too long,
  // held by a live node, or cannot be bound.
  static Result<std::unique_ptr<KvLocalServer>> Start(const KvLocalServerOptions& options,
                                                      KvService* service, MetricsRegistry* metrics);
  ~KvLocalServer();
  KvLocalServer(const KvLocalServer&) = delete;
  KvLocalServer& operator=(const KvLocalServer&) = delete;

  // Stops accepting, closes every connection and removes the socket file. Idempotent.
  void Stop();

 private:
  using Socket = boost::asio::local::stream_protocol::socket;
  KvLocalServer(KvLocalServerOptions options, KvService* service, MetricsRegistry* metrics);

  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(Socket socket);
  // Serves one decoded request on a connection whose segment is `segment` (may be null).
  boost::asio::awaitable<KvLocalAnswer> Dispatch(const KvLocalRequest& req, SharedMemory* segment);
  boost::asio::awaitable<KvLocalAnswer> Get(const KvScope& scope, const KvLocalRequest& req,
                                            SharedMemory& segment);
  boost::asio::awaitable<KvLocalAnswer> Put(const KvScope& scope, const KvLocalRequest& req,
                                            SharedMemory& segment);

  const KvLocalServerOptions options_;
  KvService* const service_;
  Counter* bytes_in_;
  Counter* bytes_out_;
  Counter* requests_;
  boost::asio::io_context io_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace unicache

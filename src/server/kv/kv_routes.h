// KvRoutes: the HTTP front-end of the inference KV cache (docs/KV.md):
//   PUT|GET|HEAD|DELETE /v1/kv/<ns>/<hex key>
//   POST /v1/kv/<ns>/{batch-get,batch-put,batch-exists,prefix-match,release}
//   GET /v1/kv (stats of every member), GET /v1/kv/<ns> (list keys, all members)
// A node that does not own a key forwards it (one hop); a batch is split by owner and sent as one
// sub-batch per owner, in parallel. Requests carrying kForwardedHeader are served locally only.
#pragma once

#include <utility>  // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kv/kv_store.h"
#include "server/http/http_server.h"
#include "server/http/request_target.h"
#include "server/kv/kv_cluster.h"
#include "server/kv/kv_service.h"

namespace unicache {

// Thread-safe; borrows the service, the cluster helper and the KV executor (where requests that
// ask other members run), which must outlive it.
class KvRoutes {
 public:
  KvRoutes(KvService* service, KvCluster* cluster, BoundedExecutor* executor);

  // Serves a request whose path starts with "/v1/kv". May move the request body out (values are
  // kept without a copy); the caller must not use it afterwards.
  boost::asio::awaitable<void> Handle(const Request& req, ResponseWriter& writer,
                                      const RequestTarget& target);

 private:
  // One request being served.
  struct Call {
    const Request* req = nullptr;
    const RequestTarget* target = nullptr;
    std::string ns;
    const KvNamespaceConfig* config = nullptr;  // null: unknown namespace
    std::string key;                            // raw bytes (single-key requests)
    bool forwarded = false;                     // from another node: serve locally only
    std::string body;                           // moved out of the request
    KvScope scope() const { return KvScope{ns, config, forwarded}; }
  };

  // Returns true when this node answers a single-key request whose `owners` these are (none:
  // forwarded here, or alone) itself without asking a peer: it is the first owner, and for a
  // `write` the only one. Such a
  // request is served on the event loop: the KV store is in memory, and a hop to the KV
  // executor costs two thread switches per request.
  bool ServesLocally(const KvOwners& owners, bool write) const;
  boost::asio::awaitable<void> GetOne(Call& c, ResponseWriter& w);
  boost::asio::awaitable<void> PutOne(Call& c, ResponseWriter& w);
  boost::asio::awaitable<void> DeleteOne(Call& c, ResponseWriter& w);
  boost::asio::awaitable<void> BatchGet(Call& c, ResponseWriter& w, bool exists_only);
  boost::asio::awaitable<void> BatchPut(Call& c, ResponseWriter& w);
  boost::asio::awaitable<void> PrefixMatch(Call& c, ResponseWriter& w);
  boost::asio::awaitable<void> Release(Call& c, ResponseWriter& w);
  boost::asio::awaitable<void> Stats(Call& c, ResponseWriter& w);
  boost::asio::awaitable<void> List(Call& c, ResponseWriter& w);

  KvService* const service_;
  KvStore* const store_;
  KvCluster* const cluster_;
  BoundedExecutor* const executor_;
};

}  // namespace unicache

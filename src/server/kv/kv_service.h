// KvService: the KV batch operations (batch get/exists/put, prefix match) over the cluster,
// independent of the transport. The HTTP routes (KvRoutes) and the shared-memory local server
// (KvLocalServer) both decode their requests into these calls. A batch is split into one
// sub-batch per owner, sent in parallel, and merged back in request order; keys owned by this
// node are served from its store.
#pragma once

#include <utility>  // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kv/batch_codec.h"
#include "kv/kv_store.h"
#include "server/kv/kv_cluster.h"
#include "server/work/bounded_executor.h"

namespace unicache {

// Who asks: the namespace (already known to exist) and whether the request came from another
// node (then only this node's store is used: one hop, never a loop).
struct KvScope {
  std::string ns;
  const KvNamespaceConfig* config = nullptr;
  bool forwarded = false;
};

// The answer of a batch get: per key a status and, when kOk, a view of its value. The views stay
// valid while the answer (its `holders`) lives.
struct KvBatchGetAnswer {
  std::vector<KvItemStatus> statuses;
  std::vector<std::string_view> values;
  std::vector<std::shared_ptr<const std::string>> holders;
};

struct KvPrefixAnswer {
  size_t matched = 0;    // leading keys present cluster-wide
  std::string lease_id;  // "" unless a lease was asked for
};

// Thread-safe; borrows the store, the cluster helper and the KV executor (the fan-out to other
// members runs there).
class KvService {
 public:
  KvService(KvStore* store, KvCluster* cluster, BoundedExecutor* executor);

  KvStore& store() { return *store_; }

  // Reads `keys` (invalid keys get kInvalidArgument). With `exists_only`, only the statuses are
  // filled and nothing is recorded as an access. A non-empty `lease` is released on every owner
  // read from. The arguments must outlive the co_await.
  boost::asio::awaitable<KvBatchGetAnswer> BatchGet(const KvScope& scope,
                                                    const std::vector<std::string>& keys,
                                                    const std::string& lease, bool exists_only);
  // Publishes `items` on their owners (and replicas); one status per item, in order.
  boost::asio::awaitable<std::vector<KvItemStatus>> BatchPut(const KvScope& scope,
                                                             const std::vector<KvPutItem>& items);
  // Counts the leading `keys` present cluster-wide. `lease_ms` > 0 pins them under a lease id
  // (new, or `lease_id` when forwarded). InvalidArgument for a bad key or lease.
  boost::asio::awaitable<Result<KvPrefixAnswer>> PrefixMatch(const KvScope& scope,
                                                             const std::vector<std::string>& keys,
                                                             uint64_t lease_ms,
                                                             const std::string& lease_id);
  // Drops lease `lease_id` here and (unless forwarded) on every other member; returns whether
  // any node held it.
  boost::asio::awaitable<bool> Release(const KvScope& scope, const std::string& lease_id);
  // Sends `method target` to every other member in parallel; returns the bodies of 2xx answers.
  boost::asio::awaitable<std::vector<std::string>> Broadcast(const std::string& method,
                                                             const std::string& target);

 private:
  // Runs `part_fn` for the parts of `keys` at rank 0, then again for the keys whose member
  // failed at the next rank, and so on; returns the keys no candidate could serve.
  boost::asio::awaitable<std::vector<size_t>> FanOut(
      const std::vector<KvOwners>& owners, const std::vector<size_t>& keys,
      const std::function<void(const KvPart&, std::vector<size_t>*)>& part_fn);
  // Sends the keys of `part` (indices into `keys`) to its member as a key list to `target`;
  // returns the answer's body, or nullopt after marking the part's keys failed. Blocking.
  std::optional<std::string> AskKeys(const KvPart& part, const std::string& target,
                                     const std::vector<std::string>& keys,
                                     std::vector<size_t>* failed);

  KvStore* const store_;
  KvCluster* const cluster_;
  BoundedExecutor* const executor_;
};

// Maps a TTL in milliseconds from the wire (0 = namespace default, 2^64-1 = never) to KvStore's.
std::chrono::milliseconds KvItemTtl(uint64_t ttl_ms);

// Returns a new random lease id (32 hex digits).
std::string NewKvLeaseId();

}  // namespace unicache

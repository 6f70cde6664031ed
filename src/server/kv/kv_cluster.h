// KvCluster: placement and node-to-node calls for the KV API. Keys go to owners by the same
// Placement as blocks, over KvPlacementKey(namespace, key); a batch is split into one
// sub-batch per owner, sent in parallel, and the answers merged back in request order.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/router.h"
#include "common/http_client.h"
#include "common/metrics.h"

namespace unicache {

// The owners of one key, best first: healthy members before ones marked down.
struct KvOwners {
  std::vector<const Member*> candidates;  // `replicas` owners, then one fallback member
  size_t replicas = 1;
};

// Keys (by request index) that go to one member in one round.
struct KvPart {
  const Member* member = nullptr;
  bool local = false;
  std::vector<size_t> indices;
};

// Thread-safe. Borrows the router, which must outlive it.
class KvCluster {
 public:
  KvCluster(Router* router, MetricsRegistry* metrics);

  // Returns the placement this request should use (keeps Member pointers valid).
  std::shared_ptr<const Placement> placement() const { return router_->placement(); }
  // Returns the owners of `key` in `ns` by `placement`, health-ordered.
  KvOwners OwnersOf(const Placement& placement, std::string_view ns, std::string_view key,
                    size_t replicas);
  // Groups `indices` by candidates[rank] of each key's owners; keys with no candidate at that
  // rank are left out.
  std::vector<KvPart> Split(const std::vector<KvOwners>& owners, std::span<const size_t> indices,
                            size_t rank) const;
  bool IsSelf(const Member* m) const { return m == nullptr || m->id == router_->self().id; }
  const std::string& self_id() const { return router_->self().id; }

  // Sends `method` `target` (path + query) with `body` to `peer`, marked as forwarded. Blocking.
  // Reports transport failures to the peer health tracker.
  Result<HttpResponse> Send(const Member& peer, const std::string& method,
                            const std::string& target, std::string body);

  // Aborts the requests in flight and refuses later ones: the node is stopping.
  void Cancel() { http_.Cancel(); }

  // Returns every member of the current ring.
  std::vector<Member> Members() const;

 private:
  Router* const router_;
  Counter* peer_in_;
  Counter* peer_out_;
  HttpClient http_;
};

}  // namespace unicache

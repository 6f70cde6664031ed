// Router: a node's side of placement. Follows the membership view (one Placement per view) and
// decides, for each block this node does not hold, whether it reads the origin or which members
// it asks, in failover order around members that are down; keeps automatic extra copies of hot
// blocks.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "cluster/cluster_info.h"
#include "cluster/membership.h"
#include "cluster/peer_health.h"
#include "cluster/placement.h"
#include "common/hash.h"
#include "common/metrics.h"

namespace unicache {

struct RouterOptions {
  ReplicaPolicy replicas;  // owners per block
  // A non-owner that forwards more than this many requests for one block within a second keeps
  // a local copy of it (an automatic extra replica). 0 disables.
  uint32_t hot_threshold = 8;
};

// What a node should do about a block it does not hold.
struct BlockPlan {
  std::shared_ptr<const Placement> placement;  // keeps `candidates` valid
  bool fetch_from_origin = false;              // this node is the primary owner (or alone)
  bool keep_copy = false;                      // store the block here once fetched from a peer
  std::vector<const Member*> candidates;       // peers to try in order; the origin after them
};

// Thread-safe. Owns the membership provider.
class Router {
 public:
  // Starts `membership` and follows its views. `self` is this node as the ring knows it.
  static Result<std::unique_ptr<Router>> Start(Member self, std::unique_ptr<Membership> membership,
                                               RouterOptions options, MetricsRegistry* metrics);
  ~Router();

  const Member& self() const { return self_; }
  // The current view's placement (never null; empty until a view is known).
  std::shared_ptr<const Placement> placement() const;
  // The view the current placement was built from (never null).
  std::shared_ptr<const MemberView> view() const;
  // Returns the changes from the view of `version` to the current view when this node followed
  // that view recently (its last kChangeLog changes, at most kChangeLogMembers member records in
  // all), to answer GET /v1/members?since=VERSION; nullopt otherwise. When `view` is given, it
  // is set to the view the changes lead to, read under the same lock.
  std::optional<ViewChanges> ChangesSince(uint64_t version,
                                          std::shared_ptr<const MemberView>* view = nullptr) const;
  static constexpr size_t kChangeLog = 256;
  static constexpr size_t kChangeLogMembers = 65536;
  PeerHealth& health() { return health_; }

  // Leaves the cluster (etcd revokes this node's member lease; its slot claims stay until their
  // own lease ends, so a restart within the grace period takes them back) and stops following
  // views: the last one stays in use. For a node draining before it stops. Idempotent.
  void Leave() { membership_->Stop(); }

  // Returns the plan for a block this node does not hold.
  // `forwarded`: another member sent the request here (it never goes on to a third, except from
  // a secondary replica to the primary, which never forwards: so the origin is read once per
  // block by its primary, and no chain of requests loops).
  BlockPlan Plan(const Key128& key, const std::string& origin, const std::string& path,
                 bool forwarded = false);

  // Returns true when this node owns `key` (as primary or replica).
  bool Owns(const Key128& key, const std::string& origin, const std::string& path) const;

 private:
  Router(Member self, std::unique_ptr<Membership> membership, RouterOptions options);
  void OnView(std::shared_ptr<const MemberView> view);
  // Counts a forward of `key`; returns true once the block is hot.
  bool CountForward(const Key128& key);

  const Member self_;
  const std::unique_ptr<Membership> membership_;
  const RouterOptions options_;
  PeerHealth health_;
  uint64_t subscription_ = 0;

  mutable std::mutex placement_mu_;  // guards placement_, view_, changes_, change_members_
  std::shared_ptr<const Placement> placement_;
  std::shared_ptr<const MemberView> view_;
  std::deque<ViewChanges> changes_;  // oldest first; each leads to the next, the last to view_
  size_t change_members_ = 0;        // member records and ids held in changes_

  std::mutex hot_mu_;  // guards the hot-block window
  std::unordered_map<Key128, uint32_t> forwards_;
  std::chrono::steady_clock::time_point window_start_;
  Gauge* members_gauge_ = nullptr;
};

}  // namespace unicache

// ClusterInfo: what GET /v1/members says, the cluster description a client needs to read blocks
// directly from their owners: the membership view, the replica policy and the block size. The
// node writes it and the client reads it here, so both place blocks with the same Placement.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/member.h"
#include "cluster/placement.h"
#include "common/status.h"

namespace unicache {

// Immutable once built: share it as shared_ptr<const ClusterInfo>; thread-safe.
struct ClusterInfo {
  std::shared_ptr<const Placement> placement;
  uint64_t block_size = 4ull << 20;
  std::string self;  // the id of the member that answered ("" when not given)
};

// What changed between two views: the members added or changed, and the ids removed. Value type.
struct ViewChanges {
  uint64_t since = 0;  // the version they apply to
  std::vector<Member> changed;
  std::vector<std::string> removed;
};

// Returns the changes that turn `from` into `to` (both sorted by id, as views are).
ViewChanges DiffViews(const MemberView& from, const MemberView& to);

// Returns the /v1/members body: the view's members and version, "block_size", "self",
// "replicas" and "replica_rules" (["ORIGIN/PREFIX=N", ...]). With `changes` (since a view the
// asker holds, GET /v1/members?since=VERSION), the members are sent as those changes instead:
// "since", "changed" (the members added or changed) and "removed" (the ids gone). A follower of
// the view then pays for what changed, not for the whole view.
std::string ClusterInfoToJson(const MemberView& view, const ReplicaPolicy& policy,
                              uint64_t block_size, std::string_view self,
                              const ViewChanges* changes = nullptr);

// Parses what ClusterInfoToJson writes. "block_size", "replicas" and "replica_rules" are
// optional and default to 4 MiB, 1 and none; present, they must be valid (a block size > 0,
// replica counts in 1..kMaxReplicas, rules as `unicache serve --replicas-for` takes them).
// An answer with "since" is applied to `current`'s view, which must be of that version
// (InvalidArgument otherwise); an answer that changes nothing returns `current` itself, so a
// follower of an unchanged view of 100k members builds nothing.
Result<std::shared_ptr<const ClusterInfo>> ParseClusterInfo(
    std::string_view json, std::shared_ptr<const ClusterInfo> current = nullptr);

// Returns the view `info` places by (its members and version).
MemberView ViewOf(const ClusterInfo& info);

}  // namespace unicache

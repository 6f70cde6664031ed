// Block planning for the direct read path: the cluster description a client needs (members,
// block size, replica counts), how a byte range splits into blocks, and in which order the
// members are asked for a block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/hash_ring.h"
#include "cluster/peer_health.h"
#include "common/status.h"

namespace unicache {

// Blocks of origin/prefix... are kept on `replicas` owners (as `unicache serve --replicas-for`).
struct ClientReplicaRule {
  std::string origin;
  std::string prefix;
  size_t replicas = 1;
};

// What GET /v1/members says, as the client uses it. Immutable once built: share it as
// shared_ptr<const ClusterInfo>; thread-safe.
struct ClusterInfo {
  std::shared_ptr<const HashRing> ring;
  uint64_t block_size = 4ull << 20;
  size_t replicas = 1;
  std::vector<ClientReplicaRule> rules;

  // Returns the number of owners of blocks of origin/path (the longest matching rule wins).
  size_t ReplicasFor(std::string_view origin, std::string_view path) const;
};

// Parses the body of GET /v1/members. "block_size", "replicas" and "replica_rules"
// (["ORIGIN/PREFIX=N", ...]) are optional and default to 4 MiB, 1 and none.
Result<std::shared_ptr<const ClusterInfo>> ParseClusterInfo(std::string_view json);

// One block's share of a read: bytes [object_offset, object_offset + length) of the object,
// which belong to block `index` and go to dst[dst_offset...].
struct BlockSpan {
  uint64_t index = 0;
  uint64_t object_offset = 0;
  size_t length = 0;
  size_t dst_offset = 0;
};

// Splits [offset, offset + length) of an object of `object_size` bytes into per-block spans,
// clamped to the object's end. Empty when offset >= object_size or length == 0.
// REQUIRES: block_size > 0.
std::vector<BlockSpan> SplitBlocks(uint64_t offset, size_t length, uint64_t object_size,
                                   uint64_t block_size);

// Returns the members to ask for the block `key`, best first: its `replicas` owners in
// rendezvous order rotated by a hash of `client_id` and the key (so clients spread over the
// replicas), then every other member in rendezvous order (any member can fetch the block for us).
// Members `health` marks down go last, keeping that order within each group. Pointers stay valid
// while `ring` lives.
std::vector<const Member*> OrderMembersForBlock(const HashRing& ring, const Key128& key,
                                                size_t replicas, std::string_view client_id,
                                                PeerHealth* health);

}  // namespace unicache

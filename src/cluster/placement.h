// Placement: which members hold a block or a KV key, and in which order a reader asks them. One
// code for nodes (the router), clients (the direct read path), the KV cluster and the simulator,
// so the same view gives every process the same answers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/hash_ring.h"
#include "cluster/member.h"
#include "common/hash.h"
#include "common/status.h"

namespace unicache {

// The most owners a block or a KV key may have.
inline constexpr size_t kMaxReplicas = 16;

// Blocks under origin/prefix are kept on `replicas` owners (checkpoints read by many GPUs).
struct ReplicaRule {
  std::string origin;
  std::string prefix;  // "" = the whole origin
  size_t replicas = 1;
};

// Parses "ORIGIN[/PREFIX]=N", N in 1..kMaxReplicas, as `unicache serve --replicas-for` takes it.
Result<ReplicaRule> ParseReplicaRule(std::string_view text);
// Writes a rule back as ParseReplicaRule reads it.
std::string FormatReplicaRule(const ReplicaRule& rule);

// How many owners the blocks of an object get: `replicas`, or the count of the matching rule
// with the longest prefix.
struct ReplicaPolicy {
  size_t replicas = 1;
  std::vector<ReplicaRule> rules;

  // Builds a policy from a default count (1..kMaxReplicas) and rules in ParseReplicaRule's form.
  static Result<ReplicaPolicy> Parse(size_t replicas, const std::vector<std::string>& rules);

  // Returns the number of owners of blocks of origin/path (before capping to the view's size).
  size_t ReplicasFor(std::string_view origin, std::string_view path) const;
};

// Returns the key a KV entry is placed by.
Key128 KvPlacementKey(std::string_view ns, std::string_view key);

// One membership view's placement: rendezvous hashing over its members, with the replica policy.
// Immutable: thread-safe; share it as shared_ptr<const Placement> and swap the pointer when the
// view changes. Member pointers it returns stay valid while it lives.
class Placement {
 public:
  static Result<std::shared_ptr<const Placement>> Create(const MemberView& view,
                                                         ReplicaPolicy policy);

  const HashRing& ring() const { return *ring_; }
  const ReplicaPolicy& policy() const { return policy_; }
  uint64_t version() const { return ring_->version(); }
  size_t size() const { return ring_->size(); }
  bool empty() const { return ring_->empty(); }
  const std::vector<Member>& members() const { return ring_->members(); }
  const Member* Find(std::string_view id) const { return ring_->Find(id); }

  // Returns how many members own a key kept in `replicas` copies: `replicas` capped to the
  // view's size (1 for an empty view).
  size_t OwnerCount(size_t replicas) const;
  // Returns how many members own the blocks of origin/path, by the policy.
  size_t BlockOwnerCount(std::string_view origin, std::string_view path) const {
    return OwnerCount(policy_.ReplicasFor(origin, path));
  }

  // Returns the `owners` owners of `key` best first, then up to `fallbacks` more members, all in
  // rendezvous order.
  std::vector<const Member*> Ranked(const Key128& key, size_t owners, size_t fallbacks) const;

  // Returns the members a reader that is not an owner asks for `key`: its `owners` owners
  // rotated by a hash of `reader_id` and the key (so readers, and one reader's keys, spread over
  // the copies), then up to `fallbacks` more members in rendezvous order.
  std::vector<const Member*> ReaderOrder(const Key128& key, size_t owners,
                                         std::string_view reader_id, size_t fallbacks) const;

  // Returns whether the member `id` is one of the `owners` owners of `key`. An empty view owns
  // every key (a node alone).
  bool IsOwner(const Key128& key, size_t owners, std::string_view id) const;

 private:
  Placement(std::shared_ptr<const HashRing> ring, ReplicaPolicy policy)
      : ring_(std::move(ring)), policy_(std::move(policy)) {}

  std::shared_ptr<const HashRing> ring_;
  ReplicaPolicy policy_;
};

}  // namespace unicache

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
#include "cluster/slot_table.h"
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

  friend bool operator==(const ReplicaRule&, const ReplicaRule&) = default;
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

  friend bool operator==(const ReplicaPolicy&, const ReplicaPolicy&) = default;

  // Builds a policy from a default count (1..kMaxReplicas) and rules in ParseReplicaRule's form.
  static Result<ReplicaPolicy> Parse(size_t replicas, const std::vector<std::string>& rules);

  // Returns the number of owners of blocks of origin/path (before capping to the view's size).
  size_t ReplicasFor(std::string_view origin, std::string_view path) const;
};

// Returns the key a KV entry is placed by.
Key128 KvPlacementKey(std::string_view ns, std::string_view key);

// One membership view's placement, with the replica policy. When every member holds slots
// (etcd claims them, a static list is given them) keys are placed by the SlotTable: O(log
// slots) a lookup, whatever the member count. Otherwise (DNS discovery, where no member can
// claim) by rendezvous hashing over every member (HashRing): O(members) a lookup, fine for the
// few thousand members one DNS name can list. Both move only the keys of a member that leaves
// or joins (docs/SCALE.md). Immutable: thread-safe; share it as shared_ptr<const Placement>
// and swap the pointer when the view changes. Member pointers it returns stay valid while it
// lives.
class Placement {
 public:
  // Validates the members (ValidateMember, distinct ids) and builds the placement.
  static Result<std::shared_ptr<const Placement>> Create(const MemberView& view,
                                                         ReplicaPolicy policy);

  const ReplicaPolicy& policy() const { return policy_; }
  uint64_t version() const { return version_; }
  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  const std::vector<Member>& members() const { return members_; }  // sorted by id
  // Returns the member with `id`, or nullptr.
  const Member* Find(std::string_view id) const;
  // Returns whether keys are placed by the slot table (rather than rendezvous hashing).
  bool by_slots() const { return slots_ != nullptr; }
  // Bytes the lookup structure takes beyond the members themselves.
  size_t MemoryBytes() const { return slots_ ? slots_->MemoryBytes() : 0; }

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
  // Returns the first owner of `key`, or nullptr for an empty view.
  const Member* Owner(const Key128& key) const;

  // Returns the members a reader that is not an owner asks for `key`: its `owners` owners
  // rotated by a hash of `reader_id` and the key (so readers, and one reader's keys, spread over
  // the copies), then up to `fallbacks` more members in rendezvous order.
  std::vector<const Member*> ReaderOrder(const Key128& key, size_t owners,
                                         std::string_view reader_id, size_t fallbacks) const;

  // Returns whether the member `id` is one of the `owners` owners of `key`. An empty view owns
  // every key (a node alone).
  bool IsOwner(const Key128& key, size_t owners, std::string_view id) const;

 private:
  Placement(MemberView view, ReplicaPolicy policy);

  std::vector<Member> members_;  // sorted by id
  uint64_t version_ = 0;
  ReplicaPolicy policy_;
  std::unique_ptr<const SlotTable> slots_;  // when every member holds slots
  std::shared_ptr<const HashRing> ring_;    // otherwise
};

}  // namespace unicache

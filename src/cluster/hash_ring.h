// HashRing: weighted rendezvous (highest random weight) hashing over a member snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "cluster/member.h"
#include "common/hash.h"
#include "common/status.h"

namespace unicache {

// An immutable, versioned set of members that maps each key to its owners. Each member scores
// a key with -weight / ln(u), u in (0,1) drawn from XXH3(member id, key); owners are the members
// with the highest scores. Adding or removing a member moves only the keys it wins or loses,
// and the ranking is the same in every process. Immutable after Create(): thread-safe; share
// it as shared_ptr<const HashRing> and swap the pointer on a membership change.
class HashRing {
 public:
  // Builds a ring from `members` (any order; sorted by id inside). Returns InvalidArgument for a
  // duplicate id or an invalid member (see ValidateMember). An empty ring is allowed.
  static Result<std::shared_ptr<const HashRing>> Create(std::vector<Member> members,
                                                        uint64_t version = 0);
  // Builds a ring from a membership snapshot, keeping its version.
  static Result<std::shared_ptr<const HashRing>> FromView(const MemberView& view);

  // Returns the min(n, size()) highest-scoring members for `key`, best first, all distinct.
  // The pointers stay valid as long as this ring lives. Empty for an empty ring or n == 0.
  std::vector<const Member*> Owners(const Key128& key, size_t n) const;
  // Returns the first owner of `key`, or nullptr for an empty ring.
  const Member* Owner(const Key128& key) const;

  // Returns the member with `id`, or nullptr.
  const Member* Find(std::string_view id) const;

  uint64_t version() const { return version_; }
  const std::vector<Member>& members() const { return members_; }  // sorted by id
  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

 private:
  HashRing(std::vector<Member> members, uint64_t version);
  // Returns the raw 64-bit hash of (member i, key), the key given as its 16 fixed-order bytes.
  uint64_t MemberHash(size_t i, std::string_view key_bytes) const;
  // Returns member i's rendezvous score for a key whose hash is `h`.
  double Score(size_t i, uint64_t h) const;

  std::vector<Member> members_;
  std::vector<uint64_t> seeds_;  // XXH3 of each member id, the per-member hash seed
  bool uniform_weights_ = true;  // when true, ranking by raw hash equals ranking by score
  uint64_t version_ = 0;
};

}  // namespace unicache

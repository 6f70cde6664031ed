// SlotTable: placement by jump consistent hashing over numbered slots that members hold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cluster/member.h"
#include "common/hash.h"

namespace unicache {

// Slots a member of `weight` holds: weight x 4, rounded, at least 1 and at most kMaxMemberSlots.
size_t SlotsForWeight(double weight);

// Maps keys to members through a table of numbered slots, each held by one member or by no one
// (a tombstone: its holder left). A key draws slots one after another (draw a is
// JumpConsistentHash(Mix(key, a), slot count)); a draw that lands on a tombstone or on a
// member already chosen is skipped, and the first `n` distinct members drawn are the key's
// owners, best first. So:
// - a member's share of keys is its slot count over the held slots (exactly, in expectation;
//   only the keys' own randomness remains, as with rendezvous hashing);
// - a member leaving turns its slots into tombstones: only the keys it owned move;
// - a member taking tombstones, or new slots appended at the end (jump hashing moves only the
//   keys a new slot wins), takes keys only for itself;
// - a lookup costs about n x (held + tombstone slots) / held slots draws of O(log slots) each,
//   whatever the member count: about 100 ns for one owner at 100,000 members.
// Which member holds which slot is state kept by the membership (etcd claims, docs/SCALE.md);
// the table is a pure function of the members' slot lists, so every process with one view
// places every key alike. Immutable: thread-safe.
class SlotTable {
 public:
  // Builds the table from members' `slots`. A slot listed by two members goes to the lower id
  // (the members are given sorted by id); each member keeps at least its other slots.
  // REQUIRES: every slot number < kMaxSlotNumber (ValidateMember checks it).
  explicit SlotTable(const std::vector<Member>& members_by_id);

  // Writes into `out` the indexes (into the members given to the constructor) of the
  // min(n, members holding a slot) owners of `key`, best first. Returns how many it wrote.
  size_t Owners(const Key128& key, size_t n, uint32_t* out) const;

  size_t slot_count() const { return slots_.size(); }
  size_t held_count() const { return held_; }
  size_t holder_count() const { return holders_; }
  // Bytes the table takes in memory.
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(uint32_t); }

 private:
  static constexpr uint32_t kTombstone = UINT32_MAX;

  size_t member_count_ = 0;
  std::vector<uint32_t> slots_;  // slot number -> member index, or kTombstone
  size_t held_ = 0;              // slots that are not tombstones
  size_t holders_ = 0;           // members holding at least one slot
};

// Returns the bucket of `key` in [0, buckets) by Lamping and Veach's jump consistent hash:
// going from b to b + 1 buckets moves only the keys that land in the new bucket.
// REQUIRES: buckets >= 1.
uint32_t JumpConsistentHash(uint64_t key, uint32_t buckets);

}  // namespace unicache

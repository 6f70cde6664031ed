#include "cluster/slot_table.h"

#include <algorithm>
#include <cmath>

namespace unicache {
namespace {

// Draws taken before a lookup falls back to walking the table (only a table that is mostly
// tombstones gets there).
constexpr size_t kDrawsPerOwner = 64;
// Owner counts up to this check for repeats by scanning the owners found.
constexpr size_t kScanOwners = 16;

// SplitMix64's finalizer: a bijective mix of 64 bits.
uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Returns the seed of draw `a` for `key`: independent draws from one 128-bit key.
uint64_t DrawSeed(const Key128& key, uint64_t a) {
  return Mix64(key.hi + a * 0x9e3779b97f4a7c15ULL) ^ key.lo;
}

}  // namespace

size_t SlotsForWeight(double weight) {
  const double slots = std::round(weight * 4);
  if (!(slots >= 1)) return 1;
  return static_cast<size_t>(std::min(slots, static_cast<double>(kMaxMemberSlots)));
}

uint32_t JumpConsistentHash(uint64_t key, uint32_t buckets) {
  int64_t b = -1;
  int64_t j = 0;
  while (j < static_cast<int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) * (static_cast<double>(1LL << 31) /
                                                           static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

SlotTable::SlotTable(const std::vector<Member>& members_by_id)
    : member_count_(members_by_id.size()) {
  uint32_t size = 0;
  for (const Member& m : members_by_id) {
    for (uint32_t s : m.slots) size = std::max(size, s + 1);
  }
  slots_.assign(size, kTombstone);
  for (size_t i = 0; i < members_by_id.size(); ++i) {
    bool holds = false;
    for (uint32_t s : members_by_id[i].slots) {
      if (slots_[s] != kTombstone) continue;  // a lower id holds it
      slots_[s] = static_cast<uint32_t>(i);
      ++held_;
      holds = true;
    }
    holders_ += holds;
  }
}

size_t SlotTable::Owners(const Key128& key, size_t n, uint32_t* out) const {
  n = std::min(n, holders_);
  if (n == 0) return 0;
  const uint32_t size = static_cast<uint32_t>(slots_.size());
  size_t found = 0;
  // Few owners (the usual case): a scan of those found. Many: a bitmap, so asking for every
  // member stays O(slots), not O(members²).
  std::vector<bool> seen(n > kScanOwners ? member_count_ : 0);
  auto take = [&](uint32_t member) {
    if (member == kTombstone) return;
    if (n > kScanOwners) {
      if (seen[member]) return;
      seen[member] = true;
    } else if (std::find(out, out + found, member) != out + found) {
      return;
    }
    out[found++] = member;
  };
  uint32_t slot = 0;
  const size_t max_draws = kDrawsPerOwner * n;
  for (uint64_t a = 0; found < n && a < max_draws; ++a) {
    slot = JumpConsistentHash(DrawSeed(key, a), size);
    take(slots_[slot]);
  }
  // Deterministic and bounded: walk on from the last draw.
  for (uint32_t step = 1; found < n && step <= size; ++step) take(slots_[(slot + step) % size]);
  return found;
}

}  // namespace unicache

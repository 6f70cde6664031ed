#include "sim/balance.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <numeric>

#include "cluster/hash_ring.h"
#include "cluster/placement.h"
#include "sim/fleet.h"

namespace unicache::sim {
namespace {

using Clock = std::chrono::steady_clock;

// Returns the median cost in ns of lookup(i) over `count` keys, timed in batches of 256.
template <typename Lookup>
double LookupNs(size_t count, const Lookup& lookup) {
  constexpr size_t kBatch = 256;
  std::vector<double> per;
  size_t sink = 0;
  for (size_t start = 0; start < count; start += kBatch) {
    const size_t n = std::min(kBatch, count - start);
    const auto t0 = Clock::now();
    for (size_t i = start; i < start + n; ++i) sink += lookup(i);
    per.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
                  static_cast<double>(n));
  }
  return sink == SIZE_MAX ? 0 : Median(per);
}

// Returns each member's primary-owner count over `blocks` blocks.
template <typename Owner>
std::vector<uint64_t> Loads(size_t members, uint64_t blocks, uint64_t seed, size_t threads,
                            const Owner& owner_index) {
  std::vector<uint64_t> load(members, 0);
  std::mutex mu;
  ParallelFor(blocks, threads, [&](size_t begin, size_t end) {
    std::vector<uint64_t> local(members, 0);
    for (size_t b = begin; b < end; ++b) ++local[owner_index(SimBlockKey(seed, b))];
    std::lock_guard lock(mu);
    for (size_t i = 0; i < members; ++i) load[i] += local[i];
  });
  return load;
}

uint64_t MemberBytes(const std::vector<Member>& members) {
  uint64_t bytes = members.capacity() * sizeof(Member);
  for (const Member& m : members) {
    bytes += m.id.capacity() + m.address.capacity() + m.zone.capacity() +
             m.slots.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace

double MaxOverFairShare(const std::vector<uint64_t>& load, const std::vector<double>& weights) {
  const double total_weight = std::accumulate(weights.begin(), weights.end(), 0.0);
  const double total_load = static_cast<double>(std::accumulate(load.begin(), load.end(), 0ull));
  double worst = 0;
  for (size_t i = 0; i < load.size(); ++i) {
    const double fair = total_load * weights[i] / total_weight;
    worst = std::max(worst, static_cast<double>(load[i]) / fair);
  }
  return worst;
}

BalanceRow BalanceOf(const BalanceOptions& o, size_t n, bool mixed,
                     const std::function<void(const std::string&)>& progress) {
  BalanceRow row;
  row.members = n;
  row.mixed = mixed;
  row.blocks = static_cast<uint64_t>(n) * o.blocks_per_member;
  std::vector<Member> members = MakeFleet(n, o.seed, mixed);
  std::vector<double> weights;
  for (const Member& m : members) weights.push_back(m.weight);
  std::shared_ptr<const Placement> placement =
      Placement::Create(MemberView{1, members}, ReplicaPolicy{}).value();
  const Member* base = placement->members().data();
  // Placement sorts by id: weights in its order.
  std::vector<double> sorted_weights;
  for (const Member& m : placement->members()) sorted_weights.push_back(m.weight);
  if (progress)
    progress("balance: " + std::to_string(n) + " members, placing " + std::to_string(row.blocks) +
             " blocks");
  std::vector<uint64_t> load = Loads(n, row.blocks, o.seed, o.threads, [&](const Key128& k) {
    return static_cast<size_t>(placement->Owner(k) - base);
  });
  row.max_over_mean = MaxOverFairShare(load, sorted_weights);
  row.table_bytes = placement->MemoryBytes();
  row.view_bytes = MemberBytes(placement->members()) + row.table_bytes;
  std::vector<Key128> keys(o.lookups);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = SimBlockKey(o.seed + 1, i);
  row.lookup_ns_p50 =
      LookupNs(keys.size(), [&](size_t i) { return placement->Ranked(keys[i], 1, 0).size(); });
  row.lookup3_ns_p50 =
      LookupNs(keys.size(), [&](size_t i) { return placement->Ranked(keys[i], 3, 0).size(); });

  // Rendezvous hashing over the same members (without slots, as it places them).
  for (Member& m : members) m.slots.clear();
  std::shared_ptr<const HashRing> ring = HashRing::Create(members, 1).value();
  const size_t ring_lookups = std::max<size_t>(64, std::min(o.lookups, 2'000'000'000 / n / 1000));
  row.rendezvous_lookup_ns_p50 =
      LookupNs(ring_lookups, [&](size_t i) { return ring->Owners(keys[i], 1).size(); });
  row.rendezvous_lookup3_ns_p50 =
      LookupNs(ring_lookups, [&](size_t i) { return ring->Owners(keys[i], 3).size(); });
  if (n <= o.rendezvous_max_members) {
    if (progress) progress("balance: the same blocks by rendezvous hashing");
    const Member* ring_base = ring->members().data();
    std::vector<uint64_t> ring_load = Loads(n, row.blocks, o.seed, o.threads, [&](const Key128& k) {
      return static_cast<size_t>(ring->Owner(k) - ring_base);
    });
    std::vector<double> ring_weights;
    for (const Member& m : ring->members()) ring_weights.push_back(m.weight);
    row.rendezvous_max_over_mean = MaxOverFairShare(ring_load, ring_weights);
  }
  return row;
}

std::vector<BalanceRow> RunBalance(const BalanceOptions& o,
                                   const std::function<void(const std::string&)>& progress) {
  std::vector<BalanceRow> rows;
  for (size_t n : o.sizes) {
    for (bool mixed : {false, true}) rows.push_back(BalanceOf(o, n, mixed, progress));
  }
  return rows;
}

}  // namespace unicache::sim

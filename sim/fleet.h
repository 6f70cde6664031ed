// The simulated fleet: members as a real etcd pool registers them (slots claimed in join order),
// block keys as nodes compute them, and the little machinery the scenarios share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cluster/member.h"
#include "common/hash.h"

namespace unicache::sim {

// The weights a mixed fleet draws from (an old node holds half a new one's share, a big one 4x).
inline constexpr double kMixedWeights[] = {0.5, 1, 2, 4};

// Returns `count` members "node-<i>" with weights drawn by `seed` from kMixedWeights (all 1
// unless `mixed`), each holding SlotsForWeight(weight) slots numbered in join order, as
// EtcdMembership claims them in a pool that grew one node at a time.
std::vector<Member> MakeFleet(size_t count, uint64_t seed, bool mixed);

// Returns a new member "node-<index>" holding the lowest `slots` numbers no one in `members`
// holds (a joiner's etcd claim).
Member JoinFleet(const std::vector<Member>& members, size_t index, double weight);

// Returns the key of block `i` of the simulated dataset `seed`.
Key128 SimBlockKey(uint64_t seed, uint64_t i);

// Runs fn(begin, end) over [0, n) split across `threads` threads (at least one).
void ParallelFor(size_t n, size_t threads, const std::function<void(size_t, size_t)>& fn);

// Returns the median of `values` (0 for none); reorders them.
double Median(std::vector<double>& values);

}  // namespace unicache::sim

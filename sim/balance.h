// `unicache sim balance`: how evenly the real placement spreads blocks over a fleet of one
// weight and over a mixed-weight one, what an owner lookup costs and what a view takes in
// memory, side by side with rendezvous hashing over every member (HashRing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace unicache::sim {

struct BalanceOptions {
  std::vector<size_t> sizes = {1000, 10000, 100000};  // member counts
  size_t blocks_per_member = 1000;
  uint64_t seed = 1;
  size_t threads = 2;
  size_t lookups = 20000;  // timed lookups per size and owner count
  // Rendezvous hashing costs members x blocks: its balance is measured up to this size, its
  // lookup cost at every size (with fewer lookups).
  size_t rendezvous_max_members = 1000;
};

struct BalanceRow {
  size_t members = 0;
  bool mixed = false;  // weights 0.5, 1, 2 and 4 (kMixedWeights), or all 1
  uint64_t blocks = 0;
  double max_over_mean = 0;             // max over members of blocks / the weight's fair share
  double rendezvous_max_over_mean = 0;  // 0 where not measured
  double lookup_ns_p50 = 0;             // one owner
  double lookup3_ns_p50 = 0;            // three owners
  double rendezvous_lookup_ns_p50 = 0;
  double rendezvous_lookup3_ns_p50 = 0;
  uint64_t table_bytes = 0;  // the slot table
  uint64_t view_bytes = 0;   // the members and the table
};

// Returns the largest ratio of a member's load to its fair share, blocks x weight / total
// weight. REQUIRES: load.size() == weights.size().
double MaxOverFairShare(const std::vector<uint64_t>& load, const std::vector<double>& weights);

// Returns the row of `members` members, all of weight 1 or of mixed weights.
BalanceRow BalanceOf(const BalanceOptions& options, size_t members, bool mixed,
                     const std::function<void(const std::string&)>& progress);

// Runs the scenario at each size, one weight and mixed weights; `progress` (may be empty) hears
// each step.
std::vector<BalanceRow> RunBalance(const BalanceOptions& options,
                                   const std::function<void(const std::string&)>& progress);

}  // namespace unicache::sim

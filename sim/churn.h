// `unicache sim churn`: what members leaving, joining and restarting cost: the blocks whose
// owner changes against the ideal (the share of the members that changed), the origin refetch
// that causes, and a restart within the grace period, side by side with rendezvous hashing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace unicache::sim {

struct ChurnOptions {
  size_t members = 1000;
  uint64_t blocks = 1'000'000;
  size_t leave = 1;  // members that leave, then as many that join
  uint64_t seed = 1;
  size_t threads = 2;
  uint64_t block_size = 4ull << 20;
  std::chrono::milliseconds grace{15000};
  std::chrono::milliseconds restart{5000};  // how long a restarting member is away
  size_t rendezvous_max_members = 2000;     // rendezvous costs members x blocks
};

// One change of the view and what it moved.
struct ChurnRow {
  std::string event;
  std::string placement;  // "slots" or "rendezvous"
  uint64_t moved = 0;     // blocks whose first owner changed
  double moved_fraction = 0;
  double ideal_fraction = 0;   // the weight share of the members that left or joined
  uint64_t refetch_bytes = 0;  // origin bytes to fill the moved blocks at their new owners
};

// Returns the fraction of `blocks` blocks whose owner differs between `before` and `after`
// (owner ids per block, in block order).
double MovedFraction(const std::vector<const std::string*>& before,
                     const std::vector<const std::string*>& after);

std::vector<ChurnRow> RunChurn(const ChurnOptions& options,
                               const std::function<void(const std::string&)>& progress);

}  // namespace unicache::sim

// `unicache sim storm`: every host of a training fleet loads one checkpoint at once. A fluid
// model (every link runs at its stated rate, transfers overlap perfectly: the times are lower
// bounds) fed with the real placement of the checkpoint's blocks: origin bytes, the busiest
// node's egress and the time to load, for unicache with and without hot-block replicas, for the
// origin read directly and for a per-host cache (what BlobFuse2's file cache does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace unicache::sim {

struct StormOptions {
  size_t hosts = 50000;
  size_t gpus_per_host = 8;
  uint64_t checkpoint_bytes = 1ull << 40;  // 1 TiB: 262,144 blocks of 4 MiB
  uint64_t block_size = 4ull << 20;
  double nic_gbps = 80;      // each host's NIC, each direction
  double ssd_gbps = 50;      // each host's local NVMe, read
  double origin_gbps = 120;  // the storage account's egress
  std::vector<size_t> replicas = {1, 3, 16};
  uint64_t seed = 1;
  size_t threads = 2;
};

struct StormRow {
  std::string design;
  uint64_t origin_bytes = 0;
  uint64_t peak_node_egress_bytes = 0;
  double seconds = 0;
  std::string bound;  // what limits the time
};

// The fluid model for unicache: with `blocks_owned[m]` blocks of `block_size` held by member m
// as one of `replicas` owners, every host reading every block once, a block's readers spread
// evenly over its owners. Returns the row (origin bytes, the busiest egress, the time and its
// bound).
StormRow UnicacheStorm(const StormOptions& options, size_t replicas,
                       const std::vector<uint64_t>& blocks_owned);

// Runs the scenario. REQUIRES: each of options.replicas in 1..min(kMaxReplicas, hosts).
std::vector<StormRow> RunStorm(const StormOptions& options,
                               const std::function<void(const std::string&)>& progress);

}  // namespace unicache::sim

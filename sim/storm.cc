#include "sim/storm.h"

#include <algorithm>
#include <mutex>

#include "cluster/placement.h"
#include "sim/fleet.h"

namespace unicache::sim {
namespace {

double BytesPerSecond(double gbps) { return gbps * 1e9 / 8; }

// Returns the largest of the named times and its name.
std::pair<double, std::string> Slowest(std::vector<std::pair<double, std::string>> bounds) {
  return *std::max_element(bounds.begin(), bounds.end());
}

}  // namespace

StormRow UnicacheStorm(const StormOptions& o, size_t replicas,
                       const std::vector<uint64_t>& blocks_owned) {
  const double hosts = static_cast<double>(o.hosts);
  const uint64_t busiest = *std::max_element(blocks_owned.begin(), blocks_owned.end());
  // Each of a block's owners serves hosts / replicas readers; the primary also fills the other
  // replicas once (replicas - 1 copies), which is within the rounding of the first term.
  const double egress =
      static_cast<double>(busiest * o.block_size) * (hosts / static_cast<double>(replicas));
  const double checkpoint = static_cast<double>(o.checkpoint_bytes);
  auto [seconds, bound] = Slowest({
      {checkpoint / BytesPerSecond(o.origin_gbps), "origin egress"},
      {egress / BytesPerSecond(o.nic_gbps), "busiest owner's NIC"},
      {checkpoint / BytesPerSecond(o.nic_gbps), "each host's NIC in"},
      {static_cast<double>(busiest * o.block_size) / BytesPerSecond(o.ssd_gbps),
       "owner SSD (first read)"},
  });
  return StormRow{.design = "unicache, " + std::to_string(replicas) + " owner" +
                            (replicas == 1 ? "" : "s") + " a block",
                  .origin_bytes = o.checkpoint_bytes,
                  .peak_node_egress_bytes = static_cast<uint64_t>(egress),
                  .seconds = seconds,
                  .bound = bound};
}

std::vector<StormRow> RunStorm(const StormOptions& o,
                               const std::function<void(const std::string&)>& progress) {
  std::vector<StormRow> rows;
  const double checkpoint = static_cast<double>(o.checkpoint_bytes);
  const double all = checkpoint * static_cast<double>(o.hosts);
  // Every host reads the origin itself: on a first load a per-host cache does the same.
  auto [direct_s, direct_bound] = Slowest({
      {all / BytesPerSecond(o.origin_gbps), "origin egress"},
      {checkpoint / BytesPerSecond(o.nic_gbps), "each host's NIC in"},
  });
  rows.push_back({"origin read directly", static_cast<uint64_t>(all), 0, direct_s, direct_bound});
  rows.push_back(
      {"per-host cache, first load", static_cast<uint64_t>(all), 0, direct_s, direct_bound});
  rows.push_back({"per-host cache, loads after", 0, 0, checkpoint / BytesPerSecond(o.ssd_gbps),
                  "each host's SSD"});

  const std::vector<Member> fleet = MakeFleet(o.hosts, o.seed, /*mixed=*/false);
  const uint64_t blocks = (o.checkpoint_bytes + o.block_size - 1) / o.block_size;
  for (size_t r : o.replicas) {
    if (progress) {
      progress("storm: placing " + std::to_string(blocks) + " blocks on " +
               std::to_string(o.hosts) + " hosts, " + std::to_string(r) + " owners each");
    }
    ReplicaPolicy policy = ReplicaPolicy::Parse(r, {}).value();
    auto placement = Placement::Create(MemberView{1, fleet}, policy).value();
    const Member* base = placement->members().data();
    std::vector<uint64_t> owned(o.hosts, 0);
    std::mutex mu;
    ParallelFor(blocks, o.threads, [&](size_t begin, size_t end) {
      std::vector<uint64_t> local(o.hosts, 0);
      for (size_t b = begin; b < end; ++b) {
        for (const Member* m : placement->Ranked(SimBlockKey(o.seed, b), r, 0)) ++local[m - base];
      }
      std::lock_guard lock(mu);
      for (size_t i = 0; i < local.size(); ++i) owned[i] += local[i];
    });
    rows.push_back(UnicacheStorm(o, r, owned));
  }
  return rows;
}

}  // namespace unicache::sim

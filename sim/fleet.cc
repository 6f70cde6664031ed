#include "sim/fleet.h"

#include <algorithm>
#include <set>
#include <thread>

#include "cluster/slot_table.h"

namespace unicache::sim {

std::vector<Member> MakeFleet(size_t count, uint64_t seed, bool mixed) {
  std::vector<Member> members;
  members.reserve(count);
  uint32_t next = 0;
  for (size_t i = 0; i < count; ++i) {
    Member m{.id = "node-" + std::to_string(i),
             .address = "10." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) +
                        "." + std::to_string(i & 255) + ":7070"};
    if (mixed) m.weight = kMixedWeights[Hash64(m.id, seed) % std::size(kMixedWeights)];
    for (size_t k = SlotsForWeight(m.weight); k > 0; --k) m.slots.push_back(next++);
    members.push_back(std::move(m));
  }
  return members;
}

Member JoinFleet(const std::vector<Member>& members, size_t index, double weight) {
  std::set<uint32_t> held;
  for (const Member& m : members) held.insert(m.slots.begin(), m.slots.end());
  Member joiner{
      .id = "node-" + std::to_string(index), .address = "10.255.0.1:7070", .weight = weight};
  for (uint32_t n = 0; joiner.slots.size() < SlotsForWeight(weight); ++n) {
    if (!held.contains(n)) joiner.slots.push_back(n);
  }
  return joiner;
}

Key128 SimBlockKey(uint64_t seed, uint64_t i) {
  return BlockKey("sim", "dataset-" + std::to_string(seed), "v1", i);
}

void ParallelFor(size_t n, size_t threads, const std::function<void(size_t, size_t)>& fn) {
  threads = std::max<size_t>(1, std::min(threads, n));
  std::vector<std::thread> pool;
  const size_t chunk = (n + threads - 1) / std::max<size_t>(1, threads);
  for (size_t t = 0; t < threads; ++t) {
    const size_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) pool.emplace_back(fn, begin, end);
  }
  for (std::thread& th : pool) th.join();
}

double Median(std::vector<double>& values) {
  if (values.empty()) return 0;
  auto mid = values.begin() + static_cast<long>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

}  // namespace unicache::sim

// Owner lookup cost: the slot table (Placement, what nodes and clients use) against rendezvous
// hashing over every member (HashRing, the placement before it and still DNS views'), at 1k,
// 10k and 100k members with mixed weights (0.5, 1, 2, 4), for 1 and 3 owners. Results and the
// command in docs/SCALE.md.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/hash_ring.h"
#include "cluster/placement.h"

namespace unicache {
namespace {

constexpr double kWeights[] = {0.5, 1, 2, 4};

// `count` members with mixed weights; with `slots`, each holds SlotsForWeight(weight) slots in
// id order, as a static list or etcd claims give them.
std::vector<Member> Members(size_t count, bool slots) {
  std::vector<Member> members;
  uint32_t next = 0;
  for (size_t i = 0; i < count; ++i) {
    Member m{.id = "node-" + std::to_string(i),
             .address = "10.0.0.1:7070",
             .weight = kWeights[Hash64(std::to_string(i)) % 4]};
    if (slots) {
      for (size_t k = SlotsForWeight(m.weight); k > 0; --k) m.slots.push_back(next++);
    }
    members.push_back(std::move(m));
  }
  return members;
}

template <typename T>
const T& Cached(size_t count, std::map<size_t, std::shared_ptr<const T>>& cache,
                std::shared_ptr<const T> (*make)(size_t)) {
  auto& p = cache[count];
  if (!p) p = make(count);
  return *p;
}

std::shared_ptr<const Placement> MakePlacement(size_t count) {
  return Placement::Create(MemberView{1, Members(count, true)}, ReplicaPolicy{}).value();
}

std::shared_ptr<const HashRing> MakeRing(size_t count) {
  return HashRing::Create(Members(count, false), 1).value();
}

void BM_SlotTable(benchmark::State& state) {
  static std::map<size_t, std::shared_ptr<const Placement>> cache;
  const Placement& p = Cached(static_cast<size_t>(state.range(0)), cache, MakePlacement);
  const size_t owners = static_cast<size_t>(state.range(1));
  uint64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.Ranked(BlockKey("data", "ckpt", "v1", i++), owners, 0));
  }
  state.counters["table_bytes"] = static_cast<double>(p.MemoryBytes());
}

void BM_Rendezvous(benchmark::State& state) {
  static std::map<size_t, std::shared_ptr<const HashRing>> cache;
  const HashRing& ring = Cached(static_cast<size_t>(state.range(0)), cache, MakeRing);
  const size_t owners = static_cast<size_t>(state.range(1));
  uint64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.Owners(BlockKey("data", "ckpt", "v1", i++), owners));
  }
}

BENCHMARK(BM_SlotTable)->ArgsProduct({{1000, 10000, 100000}, {1, 3}});
BENCHMARK(BM_Rendezvous)->ArgsProduct({{1000, 10000, 100000}, {1, 3}});

}  // namespace
}  // namespace unicache

#include "sim/churn.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "cluster/hash_ring.h"
#include "cluster/membership.h"
#include "cluster/placement.h"
#include "sim/fleet.h"

namespace unicache::sim {
namespace {

double TotalWeight(const std::vector<Member>& members) {
  return std::accumulate(members.begin(), members.end(), 0.0,
                         [](double sum, const Member& m) { return sum + m.weight; });
}

// Returns the first owner's id of each block under `members`, placed by slots or, with
// `rendezvous`, by HashRing (the members' slots ignored). The pointers live in `keep`.
std::vector<const std::string*> Owners(std::vector<Member> members, bool rendezvous,
                                       const ChurnOptions& o,
                                       std::vector<std::shared_ptr<const void>>& keep) {
  std::vector<const std::string*> owners(o.blocks);
  if (rendezvous) {
    for (Member& m : members) m.slots.clear();
    auto ring = HashRing::Create(std::move(members), 1).value();
    ParallelFor(o.blocks, o.threads, [&](size_t begin, size_t end) {
      for (size_t b = begin; b < end; ++b) owners[b] = &ring->Owner(SimBlockKey(o.seed, b))->id;
    });
    keep.push_back(ring);
  } else {
    auto placement = Placement::Create(MemberView{1, std::move(members)}, ReplicaPolicy{}).value();
    ParallelFor(o.blocks, o.threads, [&](size_t begin, size_t end) {
      for (size_t b = begin; b < end; ++b) {
        owners[b] = &placement->Owner(SimBlockKey(o.seed, b))->id;
      }
    });
    keep.push_back(placement);
  }
  return owners;
}

}  // namespace

double MovedFraction(const std::vector<const std::string*>& before,
                     const std::vector<const std::string*>& after) {
  uint64_t moved = 0;
  for (size_t i = 0; i < before.size(); ++i) moved += *before[i] != *after[i];
  return before.empty() ? 0 : static_cast<double>(moved) / static_cast<double>(before.size());
}

std::vector<ChurnRow> RunChurn(const ChurnOptions& o,
                               const std::function<void(const std::string&)>& progress) {
  const std::vector<Member> fleet = MakeFleet(o.members, o.seed, /*mixed=*/true);
  // The leavers, drawn by the seed; as many joiners take their slots (etcd's lowest free).
  std::vector<size_t> order(fleet.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(o.seed));
  const size_t leave = std::min(o.leave, fleet.size() - 1);
  std::vector<Member> after_leave;
  std::vector<Member> leavers;
  for (size_t i = 0; i < fleet.size(); ++i) {
    const bool leaves = std::find(order.begin(), order.begin() + static_cast<long>(leave), i) !=
                        order.begin() + static_cast<long>(leave);
    (leaves ? leavers : after_leave).push_back(fleet[i]);
  }
  std::vector<Member> after_join = after_leave;
  for (size_t k = 0; k < leave; ++k) {
    after_join.push_back(JoinFleet(after_join, o.members + k, leavers[k].weight));
  }
  // A member restarting: away for o.restart, back as it was. The real GracePeriod decides what
  // the view is while it is away.
  std::vector<Member> without(after_join.begin() + 1, after_join.end());
  GracePeriod grace(o.grace);
  const auto t0 = GracePeriod::Clock::now();
  grace.Apply(after_join, t0);
  grace.Apply(without, t0);                                                   // it goes down
  std::vector<Member> during_restart = grace.Apply(without, t0 + o.restart);  // still away

  const double w_fleet = TotalWeight(fleet);
  const double w_left = TotalWeight(leavers);
  std::vector<ChurnRow> rows;
  for (bool rendezvous : {false, true}) {
    if (rendezvous && o.members > o.rendezvous_max_members) break;
    const std::string name = rendezvous ? "rendezvous" : "slots";
    if (progress) progress("churn: " + std::to_string(o.blocks) + " blocks by " + name);
    std::vector<std::shared_ptr<const void>> keep;
    auto before = Owners(fleet, rendezvous, o, keep);
    auto left = Owners(after_leave, rendezvous, o, keep);
    auto joined = Owners(after_join, rendezvous, o, keep);
    auto restarted = Owners(during_restart, rendezvous, o, keep);
    auto row = [&](std::string event, double moved, double ideal) {
      const uint64_t blocks = static_cast<uint64_t>(moved * static_cast<double>(o.blocks) + 0.5);
      rows.push_back(ChurnRow{.event = std::move(event),
                              .placement = name,
                              .moved = blocks,
                              .moved_fraction = moved,
                              .ideal_fraction = ideal,
                              .refetch_bytes = blocks * o.block_size});
    };
    row(std::to_string(leave) + " leave", MovedFraction(before, left), w_left / w_fleet);
    row(std::to_string(leave) + " join", MovedFraction(left, joined),
        w_left / TotalWeight(after_join));
    row("1 restarts within the grace period", MovedFraction(joined, restarted), 0);
  }
  return rows;
}

}  // namespace unicache::sim

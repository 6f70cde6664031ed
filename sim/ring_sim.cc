// ring_sim: placement at scale with the real Placement (cluster/placement.h). Places --blocks
// blocks on --members members, then reports load balance (max/mean blocks per member), the blocks
// that move when one member joins and when one leaves, and the cost of an owner lookup.
//
// One full placement costs members x blocks hash evaluations (rendezvous hashing is O(members)
// per lookup), so join and leave are derived rather than recomputed: HRW ranks each member on
// its own score, so after a join a block's owner is the winner of {old owner, new member}
// (asked of a two-member Placement), and after a leave it is the old runner-up. --verify N
// checks that derivation against full lookups on the changed rings for N blocks.
//
// Usage: ring_sim [--members N] [--blocks N] [--threads N] [--lookups N] [--verify N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cluster/placement.h"

namespace unicache {
namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  size_t members = 100000;
  size_t blocks = 1000000;
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  size_t lookups = 2000;
  size_t verify = 200;
};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

Member MakeMember(size_t i) {
  std::string addr = "10." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) +
                     "." + std::to_string(i & 255) + ":7070";
  return Member{.id = "node-" + std::to_string(i), .address = addr};
}

// Returns the placement of `members` (one owner per block, as the sim asks for owners itself).
std::shared_ptr<const Placement> Place(std::vector<Member> members, uint64_t version) {
  return *Placement::Create(MemberView{version, std::move(members)}, ReplicaPolicy{});
}

Key128 BlockOf(size_t i) { return BlockKey("sim", "dataset/shard", "v1", i); }

// Runs fn(begin, end) over [0, n) split across `threads` threads.
template <typename Fn>
void ParallelFor(size_t n, size_t threads, Fn fn) {
  std::vector<std::thread> pool;
  size_t chunk = (n + threads - 1) / threads;
  for (size_t t = 0; t < threads; ++t) {
    size_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) pool.emplace_back(fn, begin, end);
  }
  for (auto& th : pool) th.join();
}

int Run(const Flags& f) {
  std::vector<Member> members;
  for (size_t i = 0; i < f.members; ++i) members.push_back(MakeMember(i));
  auto ring = Place(members, 1);
  std::printf("members %zu, blocks %zu, threads %zu\n", f.members, f.blocks, f.threads);

  // Owners() cost.
  for (size_t n : {size_t{1}, size_t{3}}) {
    auto start = Clock::now();
    size_t sink = 0;
    for (size_t i = 0; i < f.lookups; ++i) sink += ring->Ranked(BlockOf(i), n, 0).size();
    double per = Seconds(start) / static_cast<double>(f.lookups);
    std::printf("owners(key, %zu): %.1f us per lookup (%.2f ns per member)%s\n", n, per * 1e6,
                per * 1e9 / static_cast<double>(f.members), sink == 0 ? "!" : "");
  }

  // Full placement: first and second owner of every block (indexes into ring->members()).
  std::vector<uint32_t> first(f.blocks), second(f.blocks);
  const Member* base = ring->members().data();
  auto start = Clock::now();
  ParallelFor(f.blocks, f.threads, [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end; ++b) {
      auto o = ring->Ranked(BlockOf(b), 2, 0);
      first[b] = static_cast<uint32_t>(o[0] - base);
      second[b] = static_cast<uint32_t>(o.size() > 1 ? o[1] - base : o[0] - base);
    }
  });
  std::printf("placement of %zu blocks: %.1f s\n", f.blocks, Seconds(start));

  std::vector<uint32_t> load(f.members, 0);
  for (uint32_t o : first) ++load[o];
  auto [mn, mx] = std::minmax_element(load.begin(), load.end());
  double mean = static_cast<double>(f.blocks) / static_cast<double>(f.members);
  std::printf("load: mean %.2f, min %u, max %u, max/mean %.3f\n", mean, *mn, *mx,
              static_cast<double>(*mx) / mean);

  // Leave: the member at index `gone` leaves; its blocks go to their runner-up.
  const uint32_t gone = static_cast<uint32_t>(f.members / 2);
  size_t moved_leave = std::count(first.begin(), first.end(), gone);
  // Join: a new member takes a block when it beats the block's current owner.
  Member joined = MakeMember(f.members);
  size_t moved_join = 0;
  for (size_t b = 0; b < f.blocks; ++b) {
    auto pair = Place({ring->members()[first[b]], joined}, 1);
    moved_join += pair->Owner(BlockOf(b))->id == joined.id;
  }
  std::printf("leave 1: %zu blocks moved (%.5f%%, ideal %.5f%%), all from the leaving member\n",
              moved_leave, 100.0 * static_cast<double>(moved_leave) / static_cast<double>(f.blocks),
              100.0 / static_cast<double>(f.members));
  std::printf("join 1: %zu blocks moved (%.5f%%, ideal %.5f%%), all to the new member\n",
              moved_join, 100.0 * static_cast<double>(moved_join) / static_cast<double>(f.blocks),
              100.0 / static_cast<double>(f.members + 1));

  // Verify the derivation on a sample with full lookups on the changed rings.
  std::vector<Member> without = members;
  without.erase(without.begin() + gone);
  std::vector<Member> with = members;
  with.push_back(joined);
  auto ring_without = Place(without, 2);
  auto ring_with = Place(with, 3);
  size_t mismatches = 0;
  for (size_t s = 0; s < std::min(f.verify, f.blocks); ++s) {
    size_t b = s * (f.blocks / std::max<size_t>(1, std::min(f.verify, f.blocks)));
    const Member& old_owner = ring->members()[first[b]];
    const Member& want_leave = ring->members()[first[b] == gone ? second[b] : first[b]];
    mismatches += ring_without->Owner(BlockOf(b))->id != want_leave.id;
    auto pair = Place({old_owner, joined}, 1);
    mismatches += ring_with->Owner(BlockOf(b))->id != pair->Owner(BlockOf(b))->id;
  }
  std::printf("verified %zu sampled blocks against full lookups: %zu mismatches\n",
              std::min(f.verify, f.blocks), mismatches);
  return mismatches == 0 ? 0 : 1;
}

}  // namespace
}  // namespace unicache

int main(int argc, char** argv) {
  unicache::Flags f;
  for (int i = 1; i < argc; ++i) {
    auto value = [&](size_t* out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ring_sim: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      *out = std::strtoull(argv[++i], nullptr, 10);
    };
    if (std::strcmp(argv[i], "--members") == 0) {
      value(&f.members);
    } else if (std::strcmp(argv[i], "--blocks") == 0) {
      value(&f.blocks);
    } else if (std::strcmp(argv[i], "--threads") == 0) {
      value(&f.threads);
    } else if (std::strcmp(argv[i], "--lookups") == 0) {
      value(&f.lookups);
    } else if (std::strcmp(argv[i], "--verify") == 0) {
      value(&f.verify);
    } else {
      std::fprintf(stderr,
                   "usage: ring_sim [--members N] [--blocks N] [--threads N] [--lookups N] "
                   "[--verify N]\n");
      return std::strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  if (f.members < 2 || f.blocks < 1 || f.threads < 1) {
    std::fprintf(stderr, "ring_sim: need --members >= 2, --blocks >= 1, --threads >= 1\n");
    return 2;
  }
  return unicache::Run(f);
}

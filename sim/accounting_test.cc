// The simulator's accounting on cases small enough to work by hand.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/balance.h"
#include "sim/churn.h"
#include "sim/fleet.h"
#include "sim/membership_traffic.h"
#include "sim/storm.h"

namespace unicache::sim {
namespace {

TEST(SimAccountingTest, MaxOverFairShareWeighsEachMember) {
  // 40 blocks, weights 1 and 2: fair shares 13.33 and 26.67; 10/13.33 = 0.75, 30/26.67 = 1.125.
  EXPECT_DOUBLE_EQ(MaxOverFairShare({10, 30}, {1, 2}), 1.125);
  EXPECT_DOUBLE_EQ(MaxOverFairShare({20, 20}, {1, 1}), 1.0);
}

TEST(SimAccountingTest, MovedFractionCountsOwnerChanges) {
  const std::string a = "a", b = "b", c = "c";
  EXPECT_DOUBLE_EQ(MovedFraction({&a, &b, &c, &a}, {&a, &c, &c, &b}), 0.5);
  EXPECT_DOUBLE_EQ(MovedFraction({}, {}), 0);
}

TEST(SimAccountingTest, StormTimeIsTheSlowestOfItsBounds) {
  StormOptions o;
  o.hosts = 4;
  o.block_size = 1 << 20;
  o.checkpoint_bytes = 8 << 20;
  o.nic_gbps = 8;     // 1e9 B/s
  o.origin_gbps = 8;  // 1e9 B/s
  o.ssd_gbps = 80;    // 1e10 B/s
  // One owner a block: the busiest holds 3 blocks and sends each to all 4 hosts: 12 MiB.
  StormRow one = UnicacheStorm(o, 1, {3, 2, 2, 1});
  EXPECT_EQ(one.origin_bytes, 8u << 20);
  EXPECT_EQ(one.peak_node_egress_bytes, 12u << 20);
  EXPECT_DOUBLE_EQ(one.seconds, 12.0 * (1 << 20) / 1e9);
  EXPECT_EQ(one.bound, "busiest owner's NIC");
  // Two owners a block, 4 blocks each: each serves half the hosts, 4 MiB x 2 = 8 MiB, no
  // slower than the origin (8 MiB at 1e9 B/s) or a host taking in the checkpoint.
  StormRow two = UnicacheStorm(o, 2, {4, 4, 4, 4});
  EXPECT_EQ(two.peak_node_egress_bytes, 8u << 20);
  EXPECT_DOUBLE_EQ(two.seconds, 8.0 * (1 << 20) / 1e9);
}

TEST(SimAccountingTest, MembershipTrafficByHand) {
  MembershipTrafficOptions o;
  o.ttl_s = 10;
  o.grace_s = 15;
  o.etcd_poll_s = 1;
  o.client_refresh_s = 5;
  o.changes_per_member_day = 0;
  o.keepalive_bytes = 40;
  const WireSizes w{.member_record = 100, .slot_claims = 50, .full_view = 10000, .unchanged = 200};
  std::vector<MembershipTrafficRow> rows = Traffic(o, 10, w);
  ASSERT_EQ(rows.size(), 4u);
  // Polled: each of 10 members reads 10 records of 100 B a second.
  EXPECT_DOUBLE_EQ(rows[0].per_member_bytes_per_s, 1000);
  EXPECT_DOUBLE_EQ(rows[0].etcd_bytes_per_s, 10000);
  EXPECT_DOUBLE_EQ(rows[0].etcd_requests_per_s, 10 + 10 * 0.3);
  // Watched, idle: keep-alives every 10/3 s and every 25/3 s, 40 B each.
  EXPECT_DOUBLE_EQ(rows[1].per_member_bytes_per_s, (0.3 + 0.12) * 40);
  EXPECT_DOUBLE_EQ(rows[1].etcd_requests_per_s, 10 * 0.42);
  // Clients every 5 s: the whole view, or the empty change list.
  EXPECT_DOUBLE_EQ(rows[2].per_client_bytes_per_s, 2000);
  EXPECT_DOUBLE_EQ(rows[3].per_client_bytes_per_s, 40);
  EXPECT_EQ(rows[0].breaks, "");
  // All 10 start at once: each reads 10 member records and 10 members' slot claims.
  EXPECT_DOUBLE_EQ(ColdStartBytes(10, w), 10 * 10 * 150);
}

TEST(SimAccountingTest, ChurnMovesAboutTheIdealAndARestartWithinTheGraceNothing) {
  ChurnOptions o;
  o.members = 20;
  o.blocks = 40000;
  o.leave = 2;
  o.rendezvous_max_members = 20;
  std::vector<ChurnRow> rows = RunChurn(o, {});
  ASSERT_EQ(rows.size(), 6u);
  for (const ChurnRow& r : rows) {
    if (r.ideal_fraction == 0) {
      EXPECT_EQ(r.moved, 0u) << r.event << " " << r.placement;
      continue;
    }
    EXPECT_NEAR(r.moved_fraction / r.ideal_fraction, 1.0, 0.1) << r.event << " " << r.placement;
    EXPECT_EQ(r.refetch_bytes, r.moved * o.block_size);
  }
  // Away longer than the grace period: the member's share moves.
  o.restart = o.grace + std::chrono::seconds(1);
  EXPECT_GT(RunChurn(o, {})[2].moved, 0u);
}

TEST(SimAccountingTest, AJoinerTakesTheLowestFreeSlots) {
  std::vector<Member> fleet = MakeFleet(3, 1, /*mixed=*/false);  // slots 0-3, 4-7, 8-11
  fleet.erase(fleet.begin() + 1);
  Member joiner = JoinFleet(fleet, 9, 1.5);  // 6 slots: the 4 freed, then 12 and 13
  EXPECT_EQ(joiner.slots, (std::vector<uint32_t>{4, 5, 6, 7, 12, 13}));
}

}  // namespace
}  // namespace unicache::sim

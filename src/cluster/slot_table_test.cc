#include "cluster/slot_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace unicache {
namespace {

// `count` members "m000".. (sorted by id), each holding `per` consecutive slots.
std::vector<Member> Members(size_t count, size_t per) {
  std::vector<Member> members;
  uint32_t next = 0;
  for (size_t i = 0; i < count; ++i) {
    std::string id = std::to_string(i);
    id = "m" + std::string(id.size() < 3 ? 3 - id.size() : 0, '0') + id;  // m000, m001, ...
    Member m{.id = id, .address = "127.0.0.1:" + std::to_string(1000 + i)};
    for (size_t k = 0; k < per; ++k) m.slots.push_back(next++);
    members.push_back(std::move(m));
  }
  return members;
}

Key128 KeyOf(uint64_t i) { return BlockKey("data", "f", "v1", i); }

// Returns the ids of the n owners of key i.
std::vector<std::string> OwnerIds(const std::vector<Member>& members, uint64_t i, size_t n) {
  SlotTable table(members);
  std::vector<uint32_t> out(n);
  out.resize(table.Owners(KeyOf(i), n, out.data()));
  std::vector<std::string> ids;
  for (uint32_t m : out) ids.push_back(members[m].id);
  return ids;
}

TEST(JumpConsistentHashTest, OneMoreBucketMovesKeysOnlyIntoIt) {
  for (uint64_t key = 1; key < 2000; ++key) {
    const uint64_t k = key * 0x9e3779b97f4a7c15ULL;
    for (uint32_t n = 1; n < 40; ++n) {
      const uint32_t before = JumpConsistentHash(k, n);
      const uint32_t after = JumpConsistentHash(k, n + 1);
      ASSERT_LT(before, n);
      ASSERT_TRUE(after == before || after == n) << key << " " << n;
    }
  }
}

TEST(SlotTableTest, OwnersAreDistinctDeterministicAndCappedByTheHolders) {
  std::vector<Member> members = Members(5, 4);
  SlotTable table(members);
  EXPECT_EQ(table.slot_count(), 20u);
  EXPECT_EQ(table.holder_count(), 5u);
  for (uint64_t i = 0; i < 200; ++i) {
    uint32_t out[8];
    ASSERT_EQ(table.Owners(KeyOf(i), 8, out), 5u);
    EXPECT_EQ(std::set<uint32_t>(out, out + 5).size(), 5u);
    uint32_t again[3];
    ASSERT_EQ(SlotTable(members).Owners(KeyOf(i), 3, again), 3u);
    EXPECT_EQ(std::vector<uint32_t>(again, again + 3), std::vector<uint32_t>(out, out + 3));
  }
  uint32_t none[1];
  EXPECT_EQ(SlotTable({}).Owners(KeyOf(1), 1, none), 0u);
}

TEST(SlotTableTest, SharesFollowTheSlotCounts) {
  std::vector<Member> members = Members(4, 0);
  uint32_t next = 0;
  const size_t per[] = {2, 4, 4, 8};  // weights 0.5, 1, 1, 2
  for (size_t i = 0; i < 4; ++i) {
    for (size_t k = 0; k < per[i]; ++k) members[i].slots.push_back(next++);
  }
  SlotTable table(members);
  constexpr size_t kKeys = 180000;
  std::vector<size_t> load(4);
  for (uint64_t i = 0; i < kKeys; ++i) {
    uint32_t o;
    table.Owners(KeyOf(i), 1, &o);
    ++load[o];
  }
  for (size_t i = 0; i < 4; ++i) {
    const double want = kKeys * static_cast<double>(per[i]) / 18.0;
    EXPECT_NEAR(static_cast<double>(load[i]), want, want * 0.03) << members[i].id;
  }
}

TEST(SlotTableTest, ALeaverMovesOnlyItsOwnKeysAndKeepsTheOrderOfTheRest) {
  std::vector<Member> before = Members(20, 4);
  std::vector<Member> after = before;
  const std::string gone = after[7].id;
  after.erase(after.begin() + 7);
  size_t moved = 0;
  constexpr size_t kKeys = 40000;
  for (uint64_t i = 0; i < kKeys; ++i) {
    std::vector<std::string> was = OwnerIds(before, i, 3);
    std::vector<std::string> now = OwnerIds(after, i, 3);
    std::vector<std::string> kept;
    for (const std::string& id : was) {
      if (id != gone) kept.push_back(id);
    }
    // The survivors keep their order; a replacement, if any, comes last.
    ASSERT_EQ(std::vector<std::string>(now.begin(), now.begin() + kept.size()), kept) << i;
    if (was[0] == gone) {
      ++moved;
    } else {
      ASSERT_EQ(now[0], was[0]);
    }
  }
  EXPECT_NEAR(static_cast<double>(moved), kKeys / 20.0, kKeys / 20.0 * 0.1);
}

TEST(SlotTableTest, AJoinerTakesKeysOnlyForItselfInTombstonesOrNewSlots) {
  std::vector<Member> base = Members(20, 4);
  // A member that left (slots 28..31 are now tombstones) and a joiner taking them; another
  // joiner appending slots 80..83.
  std::vector<Member> before = base;
  before.erase(before.begin() + 7);
  std::vector<Member> into_tombstones = before;
  into_tombstones.push_back(
      Member{.id = "n1", .address = "127.0.0.1:2000", .slots = {28, 29, 30, 31}});
  std::vector<Member> appended = before;
  appended.push_back(Member{.id = "n2", .address = "127.0.0.1:2001", .slots = {80, 81, 82, 83}});
  for (const auto* after : {&into_tombstones, &appended}) {
    const std::string joiner = after->back().id;
    size_t moved = 0;
    constexpr size_t kKeys = 40000;
    for (uint64_t i = 0; i < kKeys; ++i) {
      std::vector<std::string> was = OwnerIds(before, i, 1);
      std::vector<std::string> now = OwnerIds(*after, i, 1);
      if (now != was) {
        ASSERT_EQ(now[0], joiner) << i;
        ++moved;
      }
    }
    EXPECT_NEAR(static_cast<double>(moved), kKeys / 20.0, kKeys / 20.0 * 0.1) << joiner;
  }
}

TEST(SlotTableTest, ASlotListedTwiceGoesToTheLowerId) {
  std::vector<Member> members = Members(2, 2);  // m000: 0,1; m001: 2,3
  members[1].slots = {1, 2};
  SlotTable table(members);
  EXPECT_EQ(table.held_count(), 3u);
  EXPECT_EQ(table.holder_count(), 2u);
  members[1].slots = {0, 1};  // every slot of m001 is taken: it holds none
  SlotTable shadowed(members);
  EXPECT_EQ(shadowed.holder_count(), 1u);
  uint32_t out[2];
  EXPECT_EQ(shadowed.Owners(KeyOf(3), 2, out), 1u);
  EXPECT_EQ(out[0], 0u);
}

TEST(SlotTableTest, ATableOfMostlyTombstonesStillAnswers) {
  std::vector<Member> members = {Member{.id = "a", .address = "127.0.0.1:1", .slots = {0}},
                                 Member{.id = "b", .address = "127.0.0.1:2", .slots = {900000}}};
  SlotTable table(members);
  for (uint64_t i = 0; i < 20; ++i) {
    uint32_t out[2];
    ASSERT_EQ(table.Owners(KeyOf(i), 2, out), 2u);
  }
}

TEST(SlotTableTest, SlotsFollowTheWeight) {
  EXPECT_EQ(SlotsForWeight(1.0), 4u);
  EXPECT_EQ(SlotsForWeight(0.1), 1u);
  EXPECT_EQ(SlotsForWeight(2.5), 10u);
  EXPECT_EQ(SlotsForWeight(1e9), kMaxMemberSlots);
}

}  // namespace
}  // namespace unicache

namespace unicache {
namespace {

TEST(SlotTableTest, AskingForEveryMemberStaysCheap) {
  std::vector<Member> members;
  uint32_t next = 0;
  for (size_t i = 0; i < 20000; ++i) {
    Member m{.id = "n" + std::to_string(i), .address = "127.0.0.1:1"};
    for (int k = 0; k < 4; ++k) m.slots.push_back(next++);
    members.push_back(std::move(m));
  }
  SlotTable table(members);
  std::vector<uint32_t> out(members.size());
  ASSERT_EQ(table.Owners(KeyOf(1), out.size(), out.data()), members.size());
  EXPECT_EQ(std::set<uint32_t>(out.begin(), out.end()).size(), members.size());
  // The first owners are the same whether 3 or all are asked for.
  uint32_t three[3];
  ASSERT_EQ(table.Owners(KeyOf(1), 3, three), 3u);
  EXPECT_EQ(std::vector<uint32_t>(three, three + 3),
            std::vector<uint32_t>(out.begin(), out.begin() + 3));
}

}  // namespace
}  // namespace unicache

#include "cluster/hash_ring.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace unicache {
namespace {

constexpr int kKeys = 100000;

std::vector<Member> MakeMembers(int n, int first = 0) {
  std::vector<Member> ms;
  for (int i = first; i < first + n; ++i) {
    std::string addr = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":7070";
    ms.push_back(Member{.id = "node-" + std::to_string(i), .address = addr});
  }
  return ms;
}

Key128 KeyOf(int i) { return HashFields({"test-key", std::to_string(i)}); }

std::shared_ptr<const HashRing> MustRing(std::vector<Member> ms, uint64_t version = 0) {
  auto r = HashRing::Create(std::move(ms), version);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

TEST(HashRingTest, EmptyRingHasNoOwners) {
  auto ring = MustRing({});
  EXPECT_TRUE(ring->empty());
  EXPECT_TRUE(ring->Owners(KeyOf(1), 3).empty());
  EXPECT_EQ(ring->Owner(KeyOf(1)), nullptr);
}

TEST(HashRingTest, RejectsDuplicatesAndBadMembers) {
  auto ms = MakeMembers(2);
  ms[1].id = ms[0].id;
  EXPECT_EQ(HashRing::Create(ms).status().code(), StatusCode::kInvalidArgument);
  auto bad = MakeMembers(1);
  bad[0].weight = 0;
  EXPECT_EQ(HashRing::Create(bad).status().code(), StatusCode::kInvalidArgument);
  bad[0].weight = 1;
  bad[0].address = "no-port";
  EXPECT_EQ(HashRing::Create(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(HashRingTest, DeterministicAndIndependentOfInputOrder) {
  auto ms = MakeMembers(10);
  auto a = MustRing(ms, 7);
  std::reverse(ms.begin(), ms.end());
  auto b = MustRing(ms);
  EXPECT_EQ(a->version(), 7u);
  for (int i = 0; i < 1000; ++i) {
    auto oa = a->Owners(KeyOf(i), 3);
    auto ob = b->Owners(KeyOf(i), 3);
    ASSERT_EQ(oa.size(), 3u);
    for (size_t k = 0; k < 3; ++k) EXPECT_EQ(oa[k]->id, ob[k]->id);
    EXPECT_EQ(a->Owner(KeyOf(i))->id, oa[0]->id);
  }
}

// Pinned placements: if these change, nodes of different unicache versions disagree on owners.
TEST(HashRingTest, PlacementIsStableAcrossReleases) {
  auto ms = MakeMembers(10);
  auto uniform = MustRing(ms);
  ms[3].weight = 3;  // takes the weighted (-w/ln u) path
  auto weighted = MustRing(ms);
  const std::vector<std::vector<std::string>> want = {{"node-8", "node-2", "node-4"},
                                                      {"node-6", "node-3", "node-2"}};
  for (int i = 0; i < 2; ++i) {
    for (const auto& ring : {uniform, weighted}) {
      auto o = ring->Owners(KeyOf(i), 3);
      ASSERT_EQ(o.size(), 3u);
      for (size_t k = 0; k < 3; ++k) EXPECT_EQ(o[k]->id, want[i][k]) << "key " << i;
    }
  }
}

TEST(HashRingTest, OwnersAreDistinctOrderedAndClamped) {
  auto ring = MustRing(MakeMembers(5));
  for (int i = 0; i < 200; ++i) {
    auto all = ring->Owners(KeyOf(i), 5);
    ASSERT_EQ(all.size(), 5u);
    std::set<std::string> ids;
    for (const Member* m : all) ids.insert(m->id);
    EXPECT_EQ(ids.size(), 5u);
    // Owners(n) is a prefix of Owners(n+1), whichever selection path is used.
    for (size_t n = 0; n <= 7; ++n) {
      auto some = ring->Owners(KeyOf(i), n);
      ASSERT_EQ(some.size(), std::min<size_t>(n, 5));
      for (size_t k = 0; k < some.size(); ++k) EXPECT_EQ(some[k], all[k]);
    }
  }
  auto big = MustRing(MakeMembers(100));  // the small-buffer path (n * 4 < size)
  auto full = big->Owners(KeyOf(3), 100);
  auto top3 = big->Owners(KeyOf(3), 3);
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(top3[k], full[k]);
}

TEST(HashRingTest, WeightsAreRespected) {
  auto ms = MakeMembers(3);
  ms[2].weight = 2.0;
  auto ring = MustRing(ms);
  std::map<std::string, int> count;
  for (int i = 0; i < kKeys; ++i) ++count[ring->Owner(KeyOf(i))->id];
  EXPECT_NEAR(count["node-0"] / double(kKeys), 0.25, 0.01);
  EXPECT_NEAR(count["node-1"] / double(kKeys), 0.25, 0.01);
  EXPECT_NEAR(count["node-2"] / double(kKeys), 0.50, 0.01);
  EXPECT_NEAR(count["node-2"] / double(count["node-0"]), 2.0, 0.1);
}

TEST(HashRingTest, UniformLoadIsBalanced) {
  auto ring = MustRing(MakeMembers(10));
  std::map<std::string, int> count;
  for (int i = 0; i < kKeys; ++i) ++count[ring->Owner(KeyOf(i))->id];
  for (const auto& [id, c] : count) EXPECT_NEAR(c / double(kKeys), 0.1, 0.01) << id;
}

class HashRingChurnTest : public ::testing::TestWithParam<int> {};

TEST_P(HashRingChurnTest, RemovingOneMovesOnlyItsKeys) {
  const int n = GetParam();
  auto before = MustRing(MakeMembers(n));
  auto ms = MakeMembers(n);
  const std::string gone = ms[n / 2].id;
  ms.erase(ms.begin() + n / 2);
  auto after = MustRing(ms);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    Key128 k = KeyOf(i);
    auto b3 = before->Owners(k, 3);
    auto a3 = after->Owners(k, 3);
    bool changed = b3[0]->id != a3[0]->id;
    moved += changed;
    // Exactly the keys the removed member owned move.
    EXPECT_EQ(changed, b3[0]->id == gone);
    // Replica lists change only where the removed member appeared, by closing the gap.
    bool involved = false;
    for (const Member* m : b3) involved |= m->id == gone;
    if (!involved) {
      for (size_t r = 0; r < a3.size(); ++r) EXPECT_EQ(a3[r]->id, b3[r]->id);
    }
  }
  double frac = moved / double(kKeys);
  EXPECT_NEAR(frac, 1.0 / n, 0.25 / n + 0.002) << "n=" << n;
  std::printf("remove 1 of %d: %.3f%% of keys moved (ideal %.3f%%)\n", n, 100 * frac, 100.0 / n);
}

TEST_P(HashRingChurnTest, AddingOneMovesOnlyKeysToIt) {
  const int n = GetParam();
  auto before = MustRing(MakeMembers(n));
  auto ms = MakeMembers(n);
  ms.push_back(MakeMembers(1, n)[0]);
  const std::string added = ms.back().id;
  auto after = MustRing(ms);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    Key128 k = KeyOf(i);
    const Member* b = before->Owner(k);
    const Member* a = after->Owner(k);
    if (a->id != b->id) {
      ++moved;
      EXPECT_EQ(a->id, added);
    } else {
      EXPECT_NE(a->id, added);
    }
  }
  double frac = moved / double(kKeys);
  EXPECT_NEAR(frac, 1.0 / (n + 1), 0.25 / (n + 1) + 0.002) << "n=" << n;
  std::printf("add 1 to %d: %.3f%% of keys moved (ideal %.3f%%)\n", n, 100 * frac, 100.0 / (n + 1));
}

INSTANTIATE_TEST_SUITE_P(Sizes, HashRingChurnTest, ::testing::Values(3, 5, 10, 50));

TEST(HashRingTest, FindAndFromView) {
  MemberView view{.version = 42, .members = MakeMembers(4)};
  auto r = HashRing::FromView(view);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->version(), 42u);
  ASSERT_NE((*r)->Find("node-2"), nullptr);
  EXPECT_EQ((*r)->Find("node-2")->id, "node-2");
  EXPECT_EQ((*r)->Find("node-9"), nullptr);
}

}  // namespace
}  // namespace unicache

#include "cluster/placement.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>

#include "cluster/cluster_info.h"
#include "cluster/peer_health.h"
#include "cluster/router.h"
#include "cluster/static_membership.h"
#include "common/metrics.h"

namespace unicache {
namespace {

MemberView ViewOf(const std::vector<std::string>& addresses) {
  MemberView view;
  view.version = 7;
  for (const std::string& a : addresses) view.members.push_back(Member{a, a, 1.0, ""});
  return view;
}

std::shared_ptr<const Placement> PlacementOf(const std::vector<std::string>& addresses,
                                             size_t replicas = 1,
                                             std::vector<std::string> rules = {}) {
  return Placement::Create(ViewOf(addresses), ReplicaPolicy::Parse(replicas, rules).value())
      .value();
}

std::set<std::string> Ids(const std::vector<const Member*>& members, size_t n) {
  std::set<std::string> ids;
  for (size_t i = 0; i < n && i < members.size(); ++i) ids.insert(members[i]->id);
  return ids;
}

TEST(ReplicaRuleTest, ParsesValidatesAndFormatsBack) {
  Result<ReplicaRule> r = ParseReplicaRule("data/ckpt/=3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->origin, "data");
  EXPECT_EQ(r->prefix, "ckpt/");
  EXPECT_EQ(r->replicas, 3u);
  EXPECT_EQ(FormatReplicaRule(*r), "data/ckpt/=3");
  EXPECT_EQ(FormatReplicaRule(ParseReplicaRule("data=2").value()), "data=2");
  for (const char* bad :
       {"data", "=2", "data=0", "data=17", "data=x", "data=-1", "data/../x=2", "data/a//b=2"}) {
    EXPECT_FALSE(ParseReplicaRule(bad).ok()) << bad;
  }
  EXPECT_FALSE(ReplicaPolicy::Parse(0, {}).ok());
  EXPECT_FALSE(ReplicaPolicy::Parse(kMaxReplicas + 1, {}).ok());
}

TEST(ReplicaPolicyTest, TheLongestMatchingPrefixWins) {
  ReplicaPolicy p = ReplicaPolicy::Parse(2, {"data/=3", "data/ckpt/=5", "other/ckpt/=4"}).value();
  EXPECT_EQ(p.ReplicasFor("data", "ckpt/a"), 5u);
  EXPECT_EQ(p.ReplicasFor("data", "x"), 3u);
  EXPECT_EQ(p.ReplicasFor("other", "x"), 2u);
  EXPECT_EQ(p.ReplicasFor("third", "ckpt/a"), 2u);
}

TEST(PlacementTest, OwnerCountsAreCappedToTheView) {
  auto p = PlacementOf({"a:1", "b:2"}, 1, {"data/ckpt/=5"});
  EXPECT_EQ(p->BlockOwnerCount("data", "ckpt/x"), 2u);
  EXPECT_EQ(p->BlockOwnerCount("data", "x"), 1u);
  EXPECT_EQ(p->OwnerCount(3), 2u);
  auto empty = PlacementOf({});
  EXPECT_EQ(empty->OwnerCount(3), 1u);
  EXPECT_TRUE(empty->IsOwner(BlockKey("data", "f", "v", 0), 1, "anyone"));
  EXPECT_TRUE(empty->Ranked(BlockKey("data", "f", "v", 0), 1, 2).empty());
}

TEST(PlacementTest, OneOwnerReadersAskThePrimaryThenEveryMemberInRendezvousOrder) {
  auto p = PlacementOf({"a:1", "b:2", "c:3", "d:4"});
  for (uint64_t i = 0; i < 50; ++i) {
    Key128 key = BlockKey("data", "f", "v1", i);
    EXPECT_EQ(p->ReaderOrder(key, 1, "client", p->size()), p->Ranked(key, 4, 0));
    EXPECT_EQ(p->Ranked(key, 1, 2), p->Ranked(key, 3, 0));
    EXPECT_EQ(p->Ranked(key, 2, SIZE_MAX), p->Ranked(key, 4, 0));
  }
}

TEST(PlacementTest, ReadersSpreadOverTheReplicasAndDownMembersGoLast) {
  auto p = PlacementOf({"a:1", "b:2", "c:3"}, 2);
  std::map<std::string, int> first;
  for (uint64_t i = 0; i < 200; ++i) {
    Key128 key = BlockKey("data", "ckpt/x", "v1", i);
    auto owners = p->Ranked(key, 2, 0);
    auto order = p->ReaderOrder(key, 2, "client", p->size());
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(Ids(order, 2), Ids(owners, 2));  // the owners first, in either order
    ++first[order[0] == owners[0] ? "primary" : "secondary"];
  }
  EXPECT_GT(first["primary"], 50);
  EXPECT_GT(first["secondary"], 50);

  PeerHealth health;
  Key128 key = BlockKey("data", "f", "v1", 0);
  auto ranked = p->Ranked(key, 3, 0);
  health.ReportFailure(ranked[0]->id);
  EXPECT_EQ(health.Order(p->ReaderOrder(key, 1, "client", p->size())),
            (std::vector<const Member*>{ranked[1], ranked[2], ranked[0]}));
}

TEST(PlacementTest, AStaticListIsPlacedBySlotsInIdOrderAndDnsStyleViewsByRendezvous) {
  auto ms = StaticMembership::Create("c:3,a:1,b:2");
  ASSERT_TRUE(ms.ok());
  ASSERT_TRUE((*ms)->Start().ok());
  auto view = (*ms)->Current();
  ASSERT_EQ(view->members.size(), 3u);
  EXPECT_EQ(view->members[0].slots, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(view->members[2].slots, (std::vector<uint32_t>{8, 9, 10, 11}));
  auto by_slots = Placement::Create(*view, ReplicaPolicy{}).value();
  EXPECT_TRUE(by_slots->by_slots());
  EXPECT_GT(by_slots->MemoryBytes(), 0u);
  auto by_hrw = PlacementOf({"a:1", "b:2", "c:3"});  // members without slots
  EXPECT_FALSE(by_hrw->by_slots());
  std::map<std::string, int> owned;
  for (uint64_t i = 0; i < 3000; ++i) ++owned[by_slots->Owner(BlockKey("data", "f", "v", i))->id];
  for (const auto& [id, n] : owned) EXPECT_NEAR(n, 1000, 120) << id;
}

TEST(ClusterInfoTest, SendsChangesSinceAViewTheReaderHolds) {
  ReplicaPolicy policy = ReplicaPolicy::Parse(2, {}).value();
  MemberView before = ViewOf({"a:1", "b:2", "c:3"});
  before.version = 10;
  MemberView after = ViewOf({"a:1", "b:2", "d:4"});
  after.version = 12;
  after.members[1].weight = 3;
  auto held = ParseClusterInfo(ClusterInfoToJson(before, policy, 1024, "a:1")).value();
  const ViewChanges changes = DiffViews(before, after);
  const std::string delta = ClusterInfoToJson(after, policy, 1024, "a:1", &changes);
  EXPECT_NE(delta.find(R"("since":10)"), std::string::npos) << delta;
  EXPECT_NE(delta.find(R"("removed":["c:3"])"), std::string::npos) << delta;
  EXPECT_EQ(delta.find(R"("id":"a:1")"), std::string::npos) << delta;  // unchanged: not sent
  Result<std::shared_ptr<const ClusterInfo>> applied = ParseClusterInfo(delta, held);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(ViewOf(**applied), after);
  EXPECT_EQ((*applied)->placement->policy().replicas, 2u);
  // Nothing changed: a few fields, whatever the size of the view, and nothing to rebuild.
  const ViewChanges none = DiffViews(after, after);
  const std::string same = ClusterInfoToJson(after, policy, 1024, "a:1", &none);
  EXPECT_NE(same.find(R"("changed":[],"removed":[])"), std::string::npos) << same;
  EXPECT_EQ(ParseClusterInfo(same, *applied).value(), *applied);
  // ... unless the settings changed.
  const std::string resized = ClusterInfoToJson(after, policy, 2048, "a:1", &none);
  EXPECT_EQ(ParseClusterInfo(resized, *applied).value()->block_size, 2048u);
  // A delta against a view the reader does not hold is refused, never guessed at.
  EXPECT_EQ(ParseClusterInfo(delta, *applied).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseClusterInfo(delta).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      ParseClusterInfo(R"({"version":3,"since":10,"changed":{},"removed":[]})", held).ok());
}

TEST(ClusterInfoTest, RoundTripsTheViewAndThePolicy) {
  ReplicaPolicy policy = ReplicaPolicy::Parse(2, {"data/ckpt/=3"}).value();
  std::string json = ClusterInfoToJson(ViewOf({"a:1", "b:2"}), policy, 1024, "a:1");
  Result<std::shared_ptr<const ClusterInfo>> info = ParseClusterInfo(json);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ((*info)->block_size, 1024u);
  EXPECT_EQ((*info)->self, "a:1");
  EXPECT_EQ((*info)->placement->version(), 7u);
  EXPECT_EQ((*info)->placement->size(), 2u);
  EXPECT_EQ((*info)->placement->policy().ReplicasFor("data", "ckpt/a"), 3u);
  EXPECT_EQ((*info)->placement->policy().ReplicasFor("data", "x"), 2u);
}

TEST(ClusterInfoTest, DefaultsAbsentFieldsAndRefusesBadOnes) {
  const std::string members = R"("version":1,"members":[{"id":"a:1","address":"a:1"}])";
  Result<std::shared_ptr<const ClusterInfo>> info = ParseClusterInfo("{" + members + "}");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ((*info)->block_size, 4u << 20);
  EXPECT_EQ((*info)->placement->policy().replicas, 1u);
  for (const char* bad : {R"("block_size":0)", R"("block_size":-4)", R"("block_size":"4")",
                          R"("replicas":0)", R"("replicas":17)", R"("replica_rules":["data=17"])",
                          R"("replica_rules":["data/../x=2"])", R"("replica_rules":[3])"}) {
    EXPECT_FALSE(ParseClusterInfo("{" + members + "," + bad + "}").ok()) << bad;
  }
}

// A node's router and a client reading /v1/members must agree on every block's owners, or the
// direct read path sends reads to members that then forward them.
TEST(PlacementTest, NodesAndClientsAgreeOnOwnersForTheSameView) {
  const std::vector<std::string> addresses = {"10.0.0.1:7070", "10.0.0.2:7070", "10.0.0.3:7070",
                                              "10.0.0.4:7070", "10.0.0.5:7070"};
  const std::vector<std::string> rules = {"data/ckpt/=3", "data/ckpt/big/=4", "logs=2"};
  MetricsRegistry metrics;
  std::vector<std::unique_ptr<Router>> routers;
  for (const std::string& self : addresses) {
    std::vector<Member> members;
    for (const std::string& a : addresses) members.push_back(Member{a, a, 1.0, ""});
    RouterOptions options;
    options.replicas = ReplicaPolicy::Parse(1, rules).value();
    routers.push_back(Router::Start(Member{self, self, 1.0, ""},
                                    StaticMembership::FromMembers(members).value(), options,
                                    &metrics)
                          .value());
  }
  const Router& any = *routers[2];
  Result<std::shared_ptr<const ClusterInfo>> client = ParseClusterInfo(
      ClusterInfoToJson(*any.view(), any.placement()->policy(), 4 << 20, any.self().id));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const Placement& p = *(*client)->placement;

  const std::vector<std::pair<std::string, std::string>> objects = {{"data", "train/shard-1"},
                                                                    {"data", "ckpt/step-10"},
                                                                    {"data", "ckpt/big/model.pt"},
                                                                    {"logs", "x/y"},
                                                                    {"other", "ckpt/a"}};
  for (const auto& [origin, path] : objects) {
    const size_t n = p.BlockOwnerCount(origin, path);
    for (uint64_t i = 0; i < 200; ++i) {
      Key128 key = BlockKey(origin, path, "v1", i);
      std::set<std::string> client_owners = Ids(p.ReaderOrder(key, n, "client-1", p.size()), n);
      std::set<std::string> node_owners;
      for (auto& r : routers) {
        if (r->Owns(key, origin, path)) node_owners.insert(r->self().id);
        BlockPlan plan = r->Plan(key, origin, path);
        if (plan.fetch_from_origin) {
          EXPECT_EQ(r->self().id, p.Owner(key)->id) << origin << "/" << path;
        } else if (!r->Owns(key, origin, path)) {
          // A non-owner asks the owners first, as a client does.
          EXPECT_EQ(Ids(plan.candidates, n), client_owners) << origin << "/" << path;
        }
        // Forwarded here: the primary and non-owners read the origin; a secondary replica asks
        // the primary alone, so the origin is read once and no request goes further.
        BlockPlan forwarded = r->Plan(key, origin, path, true);
        const bool primary = r->self().id == p.Owner(key)->id;
        if (primary || !r->Owns(key, origin, path)) {
          EXPECT_TRUE(forwarded.fetch_from_origin) << origin << "/" << path;
        } else {
          EXPECT_FALSE(forwarded.fetch_from_origin);
          ASSERT_EQ(forwarded.candidates.size(), 1u);
          EXPECT_EQ(forwarded.candidates[0]->id, p.Owner(key)->id);
          EXPECT_TRUE(forwarded.keep_copy);
        }
      }
      EXPECT_EQ(node_owners, client_owners) << origin << "/" << path << " block " << i;
    }
  }
}

}  // namespace
}  // namespace unicache

namespace unicache {
namespace {

// A membership whose views the test publishes.
class ScriptedMembership : public Membership {
 public:
  Status Start() override { return Status::Ok(); }
  void Stop() override {}
  std::shared_ptr<const MemberView> Current() const override { return publisher.Current(); }
  uint64_t Subscribe(Callback cb) override { return publisher.Subscribe(std::move(cb)); }
  void Unsubscribe(uint64_t id) override { publisher.Unsubscribe(id); }
  ViewPublisher publisher;
};

std::vector<Member> MembersOf(const std::vector<std::string>& addresses) {
  return ViewOf(addresses).members;
}

TEST(RouterTest, AnswersTheChangesSinceAViewItFollowedFoldedIntoOne) {
  auto owned = std::make_unique<ScriptedMembership>();
  ScriptedMembership* m = owned.get();
  m->publisher.Publish(MembersOf({"a:1", "b:2", "c:3"}));
  MetricsRegistry metrics;
  auto router = Router::Start(Member{"a:1", "a:1", 1.0, ""}, std::move(owned), {}, &metrics);
  ASSERT_TRUE(router.ok());
  const uint64_t v1 = (*router)->view()->version;
  m->publisher.Publish(MembersOf({"a:1", "b:2", "c:3", "d:4"}));
  m->publisher.Publish(MembersOf({"a:1", "c:3", "d:4"}));
  m->publisher.Publish(MembersOf({"a:1", "c:3", "d:4", "e:5"}));
  const uint64_t v4 = (*router)->view()->version;
  ASSERT_EQ(v4, v1 + 3);

  std::optional<ViewChanges> since1 = (*router)->ChangesSince(v1);
  ASSERT_TRUE(since1);
  EXPECT_EQ(since1->since, v1);
  std::vector<std::string> changed;
  for (const Member& c : since1->changed) changed.push_back(c.id);
  EXPECT_EQ(changed, (std::vector<std::string>{"d:4", "e:5"}));
  EXPECT_EQ(since1->removed, std::vector<std::string>{"b:2"});
  // Applied to the view of v1, they give the current view.
  auto old = ParseClusterInfo(ClusterInfoToJson(MemberView{v1, MembersOf({"a:1", "b:2", "c:3"})},
                                                ReplicaPolicy{}, 1024, "a:1"))
                 .value();
  auto info = ParseClusterInfo(
      ClusterInfoToJson(*(*router)->view(), ReplicaPolicy{}, 1024, "a:1", &*since1), old);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(ViewOf(**info), *(*router)->view());

  EXPECT_TRUE((*router)->ChangesSince(v4)->changed.empty());
  EXPECT_FALSE((*router)->ChangesSince(v4 + 7));  // a version it never had
}

}  // namespace
}  // namespace unicache

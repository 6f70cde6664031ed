#include "cluster/membership.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "cluster/dns_membership.h"
#include "cluster/etcd_client.h"
#include "cluster/static_membership.h"

namespace unicache {
namespace {

using namespace std::chrono_literals;

TEST(StaticMembershipTest, ParsesPeers) {
  auto ms = ParsePeerList("10.0.0.1:7070, host-b:7071,[::1]:7072");
  ASSERT_TRUE(ms.ok()) << ms.status().ToString();
  ASSERT_EQ(ms->size(), 3u);
  EXPECT_EQ((*ms)[0].id, "10.0.0.1:7070");
  EXPECT_EQ((*ms)[1].address, "host-b:7071");
  EXPECT_EQ((*ms)[2].id, "[::1]:7072");
}

TEST(StaticMembershipTest, RejectsBadPeersWithClearMessages) {
  struct Case {
    const char* peers;
    const char* says;
  } cases[] = {
      {"", "empty"},           {"a:1,,b:2", "empty entry"},
      {"a:1,", "empty entry"}, {":7070", "empty host"},
      {"a:0", "1-65535"},      {"a:70000", "1-65535"},
      {"a", "host:port"},      {"a:1,a:1", "more than once"},
  };
  for (const Case& c : cases) {
    auto r = ParsePeerList(c.peers);
    ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.peers;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
}

TEST(StaticMembershipTest, PublishesOneView) {
  auto m = StaticMembership::Create("b:2,a:1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->Current()->version, 0u);
  int calls = 0;
  (*m)->Subscribe([&](std::shared_ptr<const MemberView> v) {
    ++calls;
    EXPECT_EQ(v->members.size(), 2u);
  });
  ASSERT_TRUE((*m)->Start().ok());
  auto view = (*m)->Current();
  EXPECT_EQ(view->version, 1u);
  EXPECT_EQ(view->members[0].id, "a:1");  // sorted by id
  EXPECT_EQ(calls, 1);
  (*m)->Stop();
}

TEST(ViewPublisherTest, BumpsVersionOnlyOnChange) {
  ViewPublisher p;
  std::vector<uint64_t> seen;
  uint64_t id =
      p.Subscribe([&](std::shared_ptr<const MemberView> v) { seen.push_back(v->version); });
  Member a{.id = "a", .address = "a:1"};
  Member b{.id = "b", .address = "b:1"};
  EXPECT_TRUE(p.Publish({a}));
  EXPECT_FALSE(p.Publish({a}));
  EXPECT_TRUE(p.Publish({b, a}));
  EXPECT_FALSE(p.Publish({a, b}));
  EXPECT_TRUE(p.Publish({a}, 100));  // a hint above the current version wins
  EXPECT_TRUE(p.Publish({b}, 5));    // a lower hint still moves forward
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 100, 101}));
  p.Unsubscribe(id);
  EXPECT_TRUE(p.Publish({}));
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(p.Current()->version, 102u);
}

TEST(OpenMembershipTest, PicksProviders) {
  MembershipOptions o;
  o.self = {.id = "self", .address = "127.0.0.1:7070"};
  auto single = OpenMembership(o);
  ASSERT_TRUE(single.ok());
  ASSERT_TRUE((*single)->Start().ok());
  EXPECT_EQ((*single)->Current()->members.size(), 1u);

  o.peers = "127.0.0.1:1,127.0.0.1:2";
  auto s = OpenMembership(o);
  ASSERT_TRUE(s.ok());
  EXPECT_NE(dynamic_cast<StaticMembership*>(s->get()), nullptr);

  o.discovery = "dns:localhost";
  EXPECT_EQ(OpenMembership(o).status().code(), StatusCode::kInvalidArgument);  // both flags
  o.peers.clear();
  auto d = OpenMembership(o);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_NE(dynamic_cast<DnsMembership*>(d->get()), nullptr);

  o.discovery = "etcd:http://127.0.0.1:2379/pool-a";
  auto e = OpenMembership(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();

  for (const char* bad : {"consul:x", "dns:", "dns:name:0", "etcd:", "etcd:ftp://h:1",
                          "etcd:http://h", "etcd:http://h:1/p,http://h:2"}) {
    o.discovery = bad;
    EXPECT_EQ(OpenMembership(o).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  o.discovery = "dns:name";
  o.self.address.clear();
  EXPECT_EQ(OpenMembership(o).status().code(), StatusCode::kInvalidArgument);  // no port known
}

TEST(DnsMembershipTest, ParsesTarget) {
  auto t = ParseDnsTarget("cache.ns.svc.cluster.local:7070", 0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->name, "cache.ns.svc.cluster.local");
  EXPECT_EQ(t->port, 7070);
  auto d = ParseDnsTarget("cache", 9000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, 9000);
  EXPECT_FALSE(ParseDnsTarget("cache", 0).ok());
  EXPECT_FALSE(ParseDnsTarget(":80", 0).ok());
  EXPECT_TRUE(d->server.empty());  // the system's resolver
}

TEST(DnsMembershipTest, ParsesAServerToAsk) {
  auto t = ParseDnsTarget("unicache.service.consul:7070@127.0.0.1:8600", 0);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name, "unicache.service.consul");
  EXPECT_EQ(t->port, 7070);
  EXPECT_EQ(t->server, "127.0.0.1");
  EXPECT_EQ(t->server_port, 8600);
  auto d = ParseDnsTarget("cache@10.0.0.10", 9000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, 9000);
  EXPECT_EQ(d->server_port, 53);
  EXPECT_FALSE(ParseDnsTarget("cache:80@dns.example", 0).ok());  // an IPv4 address, not a name
  EXPECT_FALSE(ParseDnsTarget("cache:80@127.0.0.1:0", 0).ok());
  EXPECT_FALSE(ParseDnsTarget("cache:80@", 0).ok());
}

TEST(DnsMembershipTest, AServerThatDoesNotAnswerIsUnavailable) {
  // Nothing answers DNS on this loopback port: the kernel refuses the query at once.
  Result<std::vector<std::string>> r = ResolveAt("cache.test", "127.0.0.1", 9);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(DnsMembershipTest, ResolvesLocalhost) {
  auto ips = ResolveHost("localhost");
  ASSERT_TRUE(ips.ok()) << ips.status().ToString();
  ASSERT_FALSE(ips->empty());
  bool loopback = false;
  for (const auto& ip : *ips) loopback |= ip == "127.0.0.1" || ip == "::1";
  EXPECT_TRUE(loopback);
}

TEST(DnsMembershipTest, RefreshesAndKeepsLastGoodView) {
  std::mutex mu;
  Result<std::vector<std::string>> answer = std::vector<std::string>{"10.0.0.1", "fd00::1"};
  std::atomic<int> lookups{0};
  DnsMembershipOptions o;
  o.target = {.name = "cache", .port = 7070};
  o.interval = 10ms;
  o.resolver = [&](const std::string& name) -> Result<std::vector<std::string>> {
    EXPECT_EQ(name, "cache");
    ++lookups;
    std::lock_guard lock(mu);
    return answer;
  };
  auto m = DnsMembership::Create(std::move(o));
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Start().ok());
  auto v1 = (*m)->Current();
  ASSERT_EQ(v1->members.size(), 2u);
  EXPECT_EQ(v1->members[0].id, "10.0.0.1:7070");
  EXPECT_EQ(v1->members[1].address, "[fd00::1]:7070");

  auto wait_for = [&](auto pred) {
    for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(5ms);
    return pred();
  };
  {
    std::lock_guard lock(mu);
    answer = std::vector<std::string>{"10.0.0.1", "10.0.0.2", "fd00::1"};
  }
  ASSERT_TRUE(wait_for([&] { return (*m)->Current()->members.size() == 3; }));
  uint64_t version = (*m)->Current()->version;
  {
    std::lock_guard lock(mu);
    answer = Unavailable("SERVFAIL");
  }
  int before = lookups.load();
  ASSERT_TRUE(wait_for([&] { return lookups.load() > before + 3; }));
  EXPECT_EQ((*m)->Current()->members.size(), 3u);
  EXPECT_EQ((*m)->Current()->version, version);
  {
    std::lock_guard lock(mu);
    answer = std::vector<std::string>{};  // an empty answer also keeps the view
  }
  before = lookups.load();
  ASSERT_TRUE(wait_for([&] { return lookups.load() > before + 3; }));
  EXPECT_EQ((*m)->Current()->members.size(), 3u);
  (*m)->Stop();
  (*m)->Stop();  // idempotent
}

TEST(DnsMembershipTest, StartFailsWhenFirstResolutionFails) {
  DnsMembershipOptions o;
  o.target = {.name = "cache", .port = 7070};
  o.resolver = [](const std::string&) -> Result<std::vector<std::string>> {
    return Unavailable("NXDOMAIN");
  };
  auto m = DnsMembership::Create(std::move(o));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->Start().code(), StatusCode::kUnavailable);
}

TEST(EtcdClientTest, Base64RoundTrips) {
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode(""), "");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len < all.size(); len += 7) {
    auto back = Base64Decode(Base64Encode(all.substr(0, len)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, all.substr(0, len));
  }
  for (const char* bad : {"Zm9", "Zm9$", "Z===", "=m9v", "Zg==Zg=="}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

TEST(EtcdClientTest, PrefixRangeEnd) {
  EXPECT_EQ(PrefixRangeEnd("foo"), "fop");
  EXPECT_EQ(PrefixRangeEnd("/u/members/"), "/u/members0");
  EXPECT_EQ(PrefixRangeEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixRangeEnd(std::string("\xff", 1)), std::string(1, '\0'));
}

TEST(EtcdClientTest, ParsesTarget) {
  std::string prefix;
  auto e = ParseEtcdTarget("http://127.0.0.1:2379,http://127.0.0.1:2380/pools/a/", &prefix);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e, (std::vector<std::string>{"http://127.0.0.1:2379", "http://127.0.0.1:2380"}));
  EXPECT_EQ(prefix, "/pools/a");
  auto d = ParseEtcdTarget("http://127.0.0.1:2379", &prefix);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(prefix, "/unicache");
}

}  // namespace
}  // namespace unicache

namespace unicache {
namespace {

TEST(GracePeriodTest, ADepartedMemberStaysForTheGraceAndComesBackAsItIsNow) {
  using namespace std::chrono_literals;
  GracePeriod grace(10s);
  const auto t0 = GracePeriod::Clock::now();
  auto ids = [](const std::vector<Member>& members) {
    std::set<std::string> out;
    for (const Member& m : members) out.insert(m.id);
    return out;
  };
  Member a{.id = "a", .address = "h:1"}, b{.id = "b", .address = "h:2"};
  EXPECT_EQ(ids(grace.Apply({a, b}, t0)), (std::set<std::string>{"a", "b"}));
  EXPECT_FALSE(grace.NextExpiry());
  EXPECT_EQ(ids(grace.Apply({a}, t0 + 1s)), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(grace.NextExpiry(), t0 + 11s);
  // Back within the period, with new fields: as it is now, and no longer departing.
  b.weight = 2;
  std::vector<Member> back = grace.Apply({a, b}, t0 + 5s);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].weight, 2);
  EXPECT_FALSE(grace.NextExpiry());
  // Gone for longer than the period: out.
  EXPECT_EQ(ids(grace.Apply({a}, t0 + 6s)), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(ids(grace.Apply({a}, t0 + 16s)), (std::set<std::string>{"a"}));
  EXPECT_FALSE(grace.NextExpiry());
  // No grace: gone at once.
  GracePeriod none(0s);
  none.Apply({a, b}, t0);
  EXPECT_EQ(ids(none.Apply({a}, t0)), (std::set<std::string>{"a"}));
}

}  // namespace
}  // namespace unicache

#include "cluster/peer_health.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

using namespace std::chrono_literals;

class PeerHealthTest : public ::testing::Test {
 protected:
  PeerHealthOptions Options() {
    PeerHealthOptions o;
    o.initial_backoff = 100ms;
    o.max_backoff = 350ms;
    o.now = [this] { return now_; };
    return o;
  }
  std::chrono::steady_clock::time_point now_{};
};

TEST_F(PeerHealthTest, AnUnreportedProbeExpires) {
  PeerHealthOptions o = Options();
  o.probe_timeout = 500ms;
  PeerHealth h(o);
  h.ReportFailure("a");
  now_ += 100ms;
  EXPECT_TRUE(h.ShouldTry("a"));  // granted, but the caller never reports back
  now_ += 499ms;
  EXPECT_FALSE(h.ShouldTry("a"));
  now_ += 1ms;
  EXPECT_TRUE(h.ShouldTry("a"));  // a new probe
  h.ReportSuccess("a");
  EXPECT_FALSE(h.IsDown("a"));
}

TEST_F(PeerHealthTest, UnknownPeersAreUp) {
  PeerHealth h(Options());
  EXPECT_TRUE(h.ShouldTry("a"));
  EXPECT_TRUE(h.ShouldTry("a"));
  EXPECT_FALSE(h.IsDown("a"));
}

TEST_F(PeerHealthTest, FailureMarksDownUntilBackoffThenOneProbe) {
  PeerHealth h(Options());
  h.ReportFailure("a");
  EXPECT_TRUE(h.IsDown("a"));
  EXPECT_FALSE(h.ShouldTry("a"));
  now_ += 99ms;
  EXPECT_FALSE(h.ShouldTry("a"));
  now_ += 1ms;
  EXPECT_TRUE(h.ShouldTry("a"));   // the probe
  EXPECT_FALSE(h.ShouldTry("a"));  // only one probe at a time
  h.ReportSuccess("a");
  EXPECT_FALSE(h.IsDown("a"));
  EXPECT_TRUE(h.ShouldTry("a"));
}

TEST_F(PeerHealthTest, BackoffGrowsAndIsCapped) {
  PeerHealth h(Options());
  h.ReportFailure("a");  // 100 ms
  now_ += 100ms;
  ASSERT_TRUE(h.ShouldTry("a"));
  h.ReportFailure("a");  // probe failed: 200 ms
  now_ += 199ms;
  EXPECT_FALSE(h.ShouldTry("a"));
  now_ += 1ms;
  ASSERT_TRUE(h.ShouldTry("a"));
  h.ReportFailure("a");  // 400 ms, capped to 350 ms
  now_ += 349ms;
  EXPECT_FALSE(h.ShouldTry("a"));
  now_ += 1ms;
  EXPECT_TRUE(h.ShouldTry("a"));
}

TEST_F(PeerHealthTest, ReportClassifiesStatus) {
  PeerHealth h(Options());
  h.Report("a", Unavailable("connection refused"));
  EXPECT_TRUE(h.IsDown("a"));
  h.Report("b", DeadlineExceeded("timeout"));
  EXPECT_TRUE(h.IsDown("b"));
  h.Report("a", NotFound("no such block"));  // the peer answered
  EXPECT_FALSE(h.IsDown("a"));
  h.Report("c", Status::Ok());
  EXPECT_FALSE(h.IsDown("c"));
}

TEST_F(PeerHealthTest, OrderSkipsDownOwnersKeepingHrwOrder) {
  PeerHealth h(Options());
  Member a{.id = "a"}, b{.id = "b"}, c{.id = "c"}, d{.id = "d"};
  std::vector<const Member*> owners{&a, &b, &c, &d};
  h.ReportFailure("a");
  h.ReportFailure("c");
  EXPECT_EQ(h.Order(owners), (std::vector<const Member*>{&b, &d, &a, &c}));
  now_ += 100ms;  // both may be probed: they return to their places, once
  EXPECT_EQ(h.Order(owners), owners);
  EXPECT_EQ(h.Order(owners), (std::vector<const Member*>{&b, &d, &a, &c}));
}

TEST_F(PeerHealthTest, RetainForgetsRemovedPeers) {
  PeerHealth h(Options());
  h.ReportFailure("a");
  h.ReportFailure("b");
  h.Retain({"b"});
  EXPECT_FALSE(h.IsDown("a"));
  EXPECT_TRUE(h.IsDown("b"));
}

}  // namespace
}  // namespace unicache

#include "server/objects/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "server/objects/await_flight.h"

namespace unicache {
namespace {

using Flights = SingleFlight<std::string, Result<int>>;

// Records what a waiter was called with.
struct Seen {
  std::vector<Result<int>> values;
  Flights::Waiter Waiter() {
    return [this](const Result<int>& v) { values.push_back(v); };
  }
};

TEST(SingleFlightTest, JoinersShareTheLeadersValue) {
  Flights flights;
  Seen leader, a, b;
  std::optional<Flights::Claim> claim = flights.Join("k", Unavailable("gone"), leader.Waiter());
  ASSERT_TRUE(claim.has_value());
  EXPECT_FALSE(flights.Join("k", Unavailable("gone"), a.Waiter()).has_value());
  EXPECT_FALSE(flights.Join("k", Unavailable("gone"), b.Waiter()).has_value());
  EXPECT_EQ(flights.InFlight(), 1u);
  EXPECT_TRUE(a.values.empty());  // nobody is called before the claim finishes
  claim->Finish(42);
  for (Seen* s : {&leader, &a, &b}) {
    ASSERT_EQ(s->values.size(), 1u);
    EXPECT_EQ(*s->values[0], 42);
  }
  EXPECT_EQ(flights.InFlight(), 0u);
}

TEST(SingleFlightTest, ErrorsAreSharedToo) {
  Flights flights;
  Seen a, b;
  auto claim = flights.Join("k", Unavailable("gone"), a.Waiter());
  flights.Join("k", Unavailable("gone"), b.Waiter());
  claim->Finish(NotFound("no such object"));
  EXPECT_EQ(a.values.at(0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(b.values.at(0).status().code(), StatusCode::kNotFound);
}

TEST(SingleFlightTest, ADroppedClaimFinishesWithItsFallback) {
  Flights flights;
  Seen a, b;
  {
    auto claim = flights.Join("k", Unavailable("abandoned"), a.Waiter());
    flights.Join("k", Unavailable("other fallback"), b.Waiter());
  }  // dropped unfinished, as when the task holding it is destroyed
  EXPECT_EQ(a.values.at(0).status().message(), "abandoned");
  EXPECT_EQ(b.values.at(0).status().message(), "abandoned");
  EXPECT_EQ(flights.InFlight(), 0u);
}

TEST(SingleFlightTest, AMovedClaimFinishesOnce) {
  Flights flights;
  Seen a;
  auto claim = flights.Join("k", Unavailable("abandoned"), a.Waiter());
  {
    Flights::Claim moved(std::move(*claim));
    moved.Finish(7);
  }
  claim.reset();  // the moved-from claim owns nothing
  ASSERT_EQ(a.values.size(), 1u);
  EXPECT_EQ(*a.values[0], 7);
}

TEST(SingleFlightTest, DifferentKeysFlyIndependently) {
  Flights flights;
  Seen a, b;
  auto ca = flights.Join("a", Unavailable(""), a.Waiter());
  auto cb = flights.Join("b", Unavailable(""), b.Waiter());
  ASSERT_TRUE(ca && cb);
  cb->Finish(2);
  EXPECT_TRUE(a.values.empty());
  ca->Finish(1);
  EXPECT_EQ(*a.values.at(0), 1);
  EXPECT_EQ(*b.values.at(0), 2);
}

TEST(SingleFlightTest, AKeyFliesAgainOnceFinished) {
  Flights flights;
  Seen a, b;
  flights.Join("k", Unavailable(""), a.Waiter())->Finish(1);
  auto again = flights.Join("k", Unavailable(""), b.Waiter());
  ASSERT_TRUE(again.has_value());
  again->Finish(2);
  EXPECT_EQ(a.values.size(), 1u);  // the first flight's waiter is not called again
  EXPECT_EQ(*b.values.at(0), 2);
}

TEST(SingleFlightTest, TryClaimFailsWhileInFlightAndJoinersWaitForTheClaim) {
  Flights flights;
  Seen a;
  auto claim = flights.TryClaim("k", Unavailable(""));
  ASSERT_TRUE(claim.has_value());
  EXPECT_FALSE(flights.TryClaim("k", Unavailable("")).has_value());
  EXPECT_FALSE(flights.Join("k", Unavailable(""), a.Waiter()).has_value());
  claim->Finish(5);
  EXPECT_EQ(*a.values.at(0), 5);
  EXPECT_TRUE(flights.TryClaim("k", Unavailable("")).has_value());
}

// Many threads joining one key while its claim finishes: every waiter is called exactly once,
// with the one value, and nobody is left waiting.
TEST(SingleFlightTest, ConcurrentJoinersAreEachCalledOnce) {
  Flights flights;
  constexpr int kThreads = 8, kRounds = 2000;
  std::atomic<int> calls{0}, claims{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        auto claim = flights.Join("k", Unavailable(""), [&](const Result<int>& v) {
          EXPECT_EQ(*v, 9);
          calls.fetch_add(1);
        });
        if (claim) {
          claims.fetch_add(1);
          claim->Finish(9);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), kThreads * kRounds);
  EXPECT_GE(claims.load(), 1);
  EXPECT_EQ(flights.InFlight(), 0u);
}

}  // namespace
}  // namespace unicache

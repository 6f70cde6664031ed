#include "server/objects/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace unicache {
namespace {

// A string hash that records which threads have looked a key up. SingleFlight hashes the key
// under its lock while it searches for a flight in progress, so once a thread shows up here it
// has either joined the running flight or become its leader: the test can wait for that instead
// of sleeping.
struct ObservedHash {
  static std::mutex mu;
  static std::set<std::thread::id>* threads;

  size_t operator()(const std::string& key) const {
    std::lock_guard lock(mu);
    if (threads) threads->insert(std::this_thread::get_id());
    return std::hash<std::string>()(key);
  }
};
std::mutex ObservedHash::mu;
std::set<std::thread::id>* ObservedHash::threads = nullptr;

class SingleFlightTest : public ::testing::Test {
 protected:
  SingleFlightTest() {
    std::lock_guard lock(ObservedHash::mu);
    ObservedHash::threads = &seen_;
  }
  ~SingleFlightTest() override {
    std::lock_guard lock(ObservedHash::mu);
    ObservedHash::threads = nullptr;
  }

  size_t ThreadsSeen() {
    std::lock_guard lock(ObservedHash::mu);
    return seen_.size();
  }
  // Waits until `n` distinct threads have looked up a key. The deadline only keeps a broken
  // SingleFlight from hanging the test binary.
  void WaitForThreads(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ThreadsSeen() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_EQ(ThreadsSeen(), n);
  }

  std::set<std::thread::id> seen_;
};

TEST_F(SingleFlightTest, ConcurrentCallersShareOneRun) {
  constexpr int kThreads = 32;
  SingleFlight<std::string, std::string, ObservedHash> flight;
  std::latch release(1);
  std::atomic<int> runs{0};
  std::vector<std::string> results(kThreads);
  std::vector<int> coalesced(kThreads, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      bool c = false;
      results[i] = flight.Do(
          "key",
          [&] {
            runs.fetch_add(1);
            release.wait();  // the leader holds the flight open until every caller has joined
            return std::string("value");
          },
          &c);
      coalesced[i] = c ? 1 : 0;
    });
  }
  WaitForThreads(kThreads);
  EXPECT_EQ(flight.InFlight(), 1u);
  release.count_down();
  for (auto& t : threads) t.join();

  EXPECT_EQ(runs.load(), 1);
  int leaders = 0;
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(results[i], "value") << i;
    EXPECT_NE(coalesced[i], -1);
    leaders += coalesced[i] == 0 ? 1 : 0;
  }
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(flight.InFlight(), 0u);
}

TEST_F(SingleFlightTest, ErrorsAreSharedToo) {
  constexpr int kThreads = 8;
  SingleFlight<std::string, Result<int>, ObservedHash> flight;
  std::latch release(1);
  std::atomic<int> runs{0};
  std::atomic<int> unavailable{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      Result<int> r = flight.Do("k", [&]() -> Result<int> {
        runs.fetch_add(1);
        release.wait();
        return Unavailable("origin down");
      });
      if (!r.ok() && r.status().code() == StatusCode::kUnavailable) unavailable.fetch_add(1);
    });
  }
  WaitForThreads(kThreads);
  release.count_down();
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(unavailable.load(), kThreads);
}

TEST_F(SingleFlightTest, AThrowReachesEveryCallerAndForgetsTheKey) {
  constexpr int kThreads = 8;
  SingleFlight<std::string, int, ObservedHash> flight;
  std::latch release(1);
  std::atomic<int> threw{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      try {
        flight.Do("k", [&]() -> int {
          release.wait();
          throw std::runtime_error("boom");
        });
      } catch (const std::runtime_error&) {
        threw.fetch_add(1);
      }
    });
  }
  WaitForThreads(kThreads);
  release.count_down();
  for (auto& t : threads) t.join();  // before the fix the waiters hung here
  EXPECT_EQ(threw.load(), kThreads);
  EXPECT_EQ(flight.InFlight(), 0u);
  EXPECT_EQ(flight.Do("k", [] { return 7; }), 7);  // the key runs again
}

TEST_F(SingleFlightTest, DifferentKeysRunIndependently) {
  SingleFlight<std::string, int, ObservedHash> flight;
  std::latch release_a(1);
  std::latch a_running(1);
  std::thread a([&] {
    int v = flight.Do("a", [&] {
      a_running.count_down();
      release_a.wait();
      return 1;
    });
    EXPECT_EQ(v, 1);
  });
  a_running.wait();
  // "a" is still running; "b" must not wait for it (this would deadlock if it did).
  bool coalesced = true;
  int runs_b = 0;
  EXPECT_EQ(flight.Do(
                "b",
                [&] {
                  ++runs_b;
                  return 2;
                },
                &coalesced),
            2);
  EXPECT_FALSE(coalesced);
  EXPECT_EQ(runs_b, 1);
  EXPECT_EQ(flight.InFlight(), 1u);
  release_a.count_down();
  a.join();
  EXPECT_EQ(flight.InFlight(), 0u);
}

TEST_F(SingleFlightTest, LaterCallRunsAgain) {
  SingleFlight<std::string, int, ObservedHash> flight;
  int runs = 0;
  auto fn = [&] { return ++runs; };
  bool coalesced = true;
  EXPECT_EQ(flight.Do("k", fn, &coalesced), 1);
  EXPECT_FALSE(coalesced);
  coalesced = true;
  EXPECT_EQ(flight.Do("k", fn, &coalesced), 2);
  EXPECT_FALSE(coalesced);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(flight.InFlight(), 0u);
}

TEST_F(SingleFlightTest, NullCoalescedPointerIsAllowed) {
  SingleFlight<int, int> flight;
  EXPECT_EQ(flight.Do(7, [] { return 49; }), 49);
}

}  // namespace
TEST(SingleFlightClaimTest, CallersWaitForTheClaimAndShareItsValue) {
  SingleFlight<int, int> flights;
  std::optional<SingleFlight<int, int>::Claim> claim = flights.TryClaim(7, -1);
  ASSERT_TRUE(claim.has_value());
  EXPECT_FALSE(flights.TryClaim(7, -1).has_value());  // one claim per key at a time
  EXPECT_TRUE(flights.TryClaim(8, -1).has_value());   // other keys are free (and freed again)
  std::atomic<int> runs{0};
  std::vector<int> got(4, 0);
  std::vector<int> coalesced(4, 0);  // not vector<bool>: its elements share bytes across threads
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      bool c = false;
      got[i] = flights.Do(
          7, [&] { return ++runs, 0; }, &c);
      coalesced[i] = c;
    });
  }
  // Give the callers time to join the claim's flight. Not a timing assertion: a caller that
  // came late would run its own function, and the checks below would fail.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  claim->Finish(42);
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i], 42) << i;
    EXPECT_TRUE(coalesced[i]) << i;
  }
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(flights.InFlight(), 0u);
  EXPECT_EQ(flights.Do(7, [] { return 5; }), 5);  // the key is forgotten once finished
}

TEST(SingleFlightClaimTest, ADroppedClaimFinishesWithItsFallback) {
  SingleFlight<int, int> flights;
  std::optional<SingleFlight<int, int>::Claim> claim = flights.TryClaim(1, -9);
  ASSERT_TRUE(claim.has_value());
  int got = 0;
  bool coalesced = false;
  std::thread waiter([&] {
    got = flights.Do(
        1, [] { return 3; }, &coalesced);
  });
  while (flights.InFlight() != 1) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the waiter join the flight
  std::optional<SingleFlight<int, int>::Claim> moved = std::move(claim);
  claim.reset();  // a moved-from claim finishes nothing
  EXPECT_EQ(flights.InFlight(), 1u);
  moved.reset();
  waiter.join();
  // The waiter normally joined the claim (and got its fallback); one that came after the drop
  // ran on its own.
  EXPECT_EQ(got, coalesced ? -9 : 3);
  EXPECT_EQ(flights.InFlight(), 0u);
}

TEST(SingleFlightClaimTest, ClaimWhileARunIsInFlightFails) {
  SingleFlight<int, int> flights;
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  std::thread leader([&] {
    flights.Do(3, [&] {
      inside = true;
      while (!release) std::this_thread::yield();
      return 1;
    });
  });
  while (!inside) std::this_thread::yield();
  EXPECT_FALSE(flights.TryClaim(3, 0).has_value());
  release = true;
  leader.join();
  EXPECT_TRUE(flights.TryClaim(3, 0).has_value());
}

}  // namespace unicache

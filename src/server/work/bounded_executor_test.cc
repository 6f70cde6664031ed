#include "server/work/bounded_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "server/work/run_on.h"

namespace unicache {
namespace {

using namespace std::chrono_literals;

// A gate tasks wait at until opened.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    --waiting_;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits until `n` tasks wait at the gate; false after 60 s (a bug, not a timing).
  bool WaitForWaiters(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 60s, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

ExecutorOptions Options(size_t threads, size_t queue, std::chrono::milliseconds deadline = 60s) {
  return ExecutorOptions{"test", threads, queue, deadline};
}

TEST(BoundedExecutorTest, RunsEveryTaskWithAtMostItsThreadsAtOnce) {
  MetricsRegistry metrics;
  BoundedExecutor ex(Options(3, 100), &metrics);
  std::atomic<int> running{0}, peak{0}, done{0};
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(ex.Post(
                      [&] {
                        int now = running.fetch_add(1) + 1;
                        int p = peak.load();
                        while (now > p && !peak.compare_exchange_weak(p, now)) {
                        }
                        std::this_thread::sleep_for(1ms);
                        running.fetch_sub(1);
                        done.fetch_add(1);
                      },
                      [](const Status&) { ADD_FAILURE() << "refused"; })
                    .ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + 60s;  // only a bug takes that long
  while (done.load() < 50 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(done.load(), 50);
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 1);
}

TEST(BoundedExecutorTest, AFullQueueIsRefusedAtOnceWithRetryAfter) {
  MetricsRegistry metrics;
  BoundedExecutor ex(Options(1, 2), &metrics);
  Gate gate;
  auto nothing = [](const Status&) {};
  ASSERT_TRUE(ex.Post([&] { gate.Wait(); }, nothing).ok());  // takes the thread
  ASSERT_TRUE(gate.WaitForWaiters(1));
  ASSERT_TRUE(ex.Post([] {}, nothing).ok());
  ASSERT_TRUE(ex.Post([] {}, nothing).ok());
  EXPECT_EQ(ex.queued(), 2u);
  Status full = ex.Post([] { ADD_FAILURE() << "ran a refused task"; }, nothing);
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(full.detail(), StatusDetail::kOverloaded);
  ASSERT_TRUE(full.retry_after().has_value());
  EXPECT_NE(full.message().find("test is overloaded"), std::string::npos) << full.message();
  EXPECT_NE(metrics.Render().find(
                "unicache_executor_refused_total{executor=\"test\",reason=\"queue_full\"} 1"),
            std::string::npos);
  gate.Open();
}

TEST(BoundedExecutorTest, ATaskPastTheQueueDeadlineIsRefusedNotRun) {
  MetricsRegistry metrics;
  BoundedExecutor ex(Options(1, 10, 50ms), &metrics);
  Gate gate;
  ASSERT_TRUE(ex.Post([&] { gate.Wait(); }, [](const Status&) {}).ok());
  ASSERT_TRUE(gate.WaitForWaiters(1));
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> refused;
  std::atomic<bool> ran{false};
  ASSERT_TRUE(ex.Post([&] { ran = true; },
                      [&](const Status& st) {
                        std::lock_guard lock(mu);
                        refused = st;
                        cv.notify_all();
                      })
                  .ok());
  {
    // Refused while the only thread is still held: the sweeper does not need a free thread.
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return refused.has_value(); }));
  }
  EXPECT_EQ(refused->detail(), StatusDetail::kOverloaded);
  EXPECT_NE(refused->message().find("waited"), std::string::npos) << refused->message();
  gate.Open();
  ex.Stop();
  EXPECT_FALSE(ran.load());
}

TEST(BoundedExecutorTest, StopRefusesQueuedTasksAndLaterPosts) {
  MetricsRegistry metrics;
  auto ex = std::make_unique<BoundedExecutor>(Options(1, 10), &metrics);
  Gate gate;
  ASSERT_TRUE(ex->Post([&] { gate.Wait(); }, [](const Status&) {}).ok());
  ASSERT_TRUE(gate.WaitForWaiters(1));
  std::atomic<int> refused{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ex->Post([] { ADD_FAILURE() << "ran after Stop"; },
                         [&](const Status& st) {
                           EXPECT_EQ(st.code(), StatusCode::kUnavailable);
                           refused.fetch_add(1);
                         })
                    .ok());
  }
  std::thread stopper([&] { ex->Stop(); });
  std::this_thread::sleep_for(20ms);  // Stop is waiting for the running task
  gate.Open();
  stopper.join();
  EXPECT_EQ(refused.load(), 3);
  EXPECT_EQ(ex->Post([] {}, [](const Status&) {}).code(), StatusCode::kResourceExhausted);
}

template <typename T>
boost::asio::awaitable<void> Into(boost::asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

TEST(RunOnTest, ReturnsTheValueOnTheCallersLoopOrTheRefusal) {
  MetricsRegistry metrics;
  BoundedExecutor ex(Options(1, 1), &metrics);
  boost::asio::io_context io;
  const auto loop_thread = std::this_thread::get_id();
  std::optional<Result<int>> value;
  std::thread::id ran_on;
  boost::asio::co_spawn(io,
                        Into(RunOn(ex,
                                   [&]() -> Result<int> {
                                     ran_on = std::this_thread::get_id();
                                     return 7;
                                   }),
                             &value),
                        boost::asio::detached);
  io.run();
  ASSERT_TRUE(value && value->ok());
  EXPECT_EQ(**value, 7);
  EXPECT_NE(ran_on, loop_thread);

  ex.Stop();
  std::optional<Status> refused;
  io.restart();
  boost::asio::co_spawn(io, Into(RunOn(ex, [] { return Status::Ok(); }), &refused),
                        boost::asio::detached);
  io.run();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code(), StatusCode::kResourceExhausted);
}

boost::asio::awaitable<void> RunAll(BoundedExecutor& ex, std::vector<std::function<void()>>& jobs,
                                    std::vector<size_t>* refused) {
  const std::function<void(size_t)> on_refusal = [refused](size_t i) { refused->push_back(i); };
  co_await RunAllOn(ex, jobs, &on_refusal);
}

TEST(RunOnTest, RunAllOnRunsEveryJobAndNamesTheRefusedOnes) {
  MetricsRegistry metrics;
  BoundedExecutor ex(Options(1, 2), &metrics);
  Gate gate;
  std::atomic<int> ran{0};
  std::vector<std::function<void()>> jobs;
  jobs.push_back([&] {
    gate.Wait();
    ran.fetch_add(1);
  });
  for (int i = 0; i < 4; ++i) jobs.push_back([&] { ran.fetch_add(1); });
  // Job 0 takes the thread only once it runs, so which jobs fit is racy: open the gate at once
  // and check the accounting instead: every job ran or was named, none both.
  gate.Open();
  boost::asio::io_context io;
  std::vector<size_t> refused;
  boost::asio::co_spawn(io, RunAll(ex, jobs, &refused), boost::asio::detached);
  io.run();
  EXPECT_EQ(ran.load() + static_cast<int>(refused.size()), 5);
  EXPECT_LE(refused.size(), 3u);  // at least the first three fit (one running, two queued)
}

}  // namespace
}  // namespace unicache

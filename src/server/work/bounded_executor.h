// BoundedExecutor: the threads and the queue of one resource (an origin, the SSD, peer transfers,
// KV fan-out), so a resource that stalls fills only its own queue and delays only its own work.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"

namespace unicache {

struct ExecutorOptions {
  std::string name;     // the resource, in errors and the metrics' `executor` label
  size_t threads = 16;  // tasks running at once
  size_t queue = 1024;  // tasks waiting at most; beyond that Post() refuses at once
  // A task that waited this long without a thread is refused (its `reject` is called) rather
  // than run late for a client that has likely given up.
  std::chrono::milliseconds queue_deadline{10000};
};

// Thread-safe. Each task is either run once on one of the threads, or refused once through its
// `reject` (queue deadline passed, executor stopping); never both.
class BoundedExecutor {
 public:
  // `metrics` (borrowed) gets the queue depth, the tasks running and the refusals.
  BoundedExecutor(ExecutorOptions options, MetricsRegistry* metrics);
  // Stop()s.
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `run`. Returns ResourceExhausted (overloaded, with a Retry-After) without queuing when
  // the queue is full or the executor is stopping: the caller answers 503 at once.
  Status Post(std::function<void()> run, std::function<void(const Status&)> reject);

  // Refuses every queued task (Unavailable) and waits for the running ones; later Post()s are
  // refused. Idempotent.
  void Stop();

  const std::string& name() const { return options_.name; }
  // Tasks queued now (not running).
  size_t queued() const;

 private:
  struct Task {
    std::chrono::steady_clock::time_point enqueued;
    std::function<void()> run;
    std::function<void(const Status&)> reject;
  };
  void Work();
  // Refuses the queued tasks whose deadline has passed, until Stop().
  void Sweep();
  Status Overloaded(const std::string& why) const;

  const ExecutorOptions options_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // a task was queued, or stopping
  std::condition_variable sweep_cv_;  // the queue's front changed, or stopping
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::thread sweeper_;
  Gauge* queued_gauge_;
  Gauge* running_gauge_;
  Counter* refused_full_;
  Counter* refused_late_;
};

}  // namespace unicache

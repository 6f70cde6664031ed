// WorkPool: a small fixed set of threads running queued tasks (parallel block reads and
// readahead of the native client).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace unicache {

// Thread-safe. The destructor runs the tasks still queued, then joins the threads, so a task
// may rely on what its submitter guarantees to outlive the pool.
class WorkPool {
 public:
  // Starts `threads` workers (at least 1).
  explicit WorkPool(size_t threads);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Queues `task` to run on a worker. Tasks must not block on other queued tasks.
  void Submit(std::function<void()> task);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace unicache

#include "server/work/bounded_executor.h"

#include <algorithm>

namespace unicache {

BoundedExecutor::BoundedExecutor(ExecutorOptions options, MetricsRegistry* metrics)
    : options_(std::move(options)) {
  Labels l = {{"executor", options_.name}};
  queued_gauge_ = &metrics->GetGauge("unicache_executor_queued", l,
                                     "Tasks waiting for a thread, by resource executor.");
  running_gauge_ =
      &metrics->GetGauge("unicache_executor_running", l, "Tasks running, by resource executor.");
  const char* refused_help = "Tasks refused with 503, by executor and reason.";
  Labels full = {{"executor", options_.name}, {"reason", "queue_full"}};
  Labels late = {{"executor", options_.name}, {"reason", "queue_deadline"}};
  refused_full_ = &metrics->GetCounter("unicache_executor_refused_total", full, refused_help);
  refused_late_ = &metrics->GetCounter("unicache_executor_refused_total", late, refused_help);
  const size_t n = std::max<size_t>(1, options_.threads);
  threads_.reserve(n);
  for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { Work(); });
  sweeper_ = std::thread([this] { Sweep(); });
}

BoundedExecutor::~BoundedExecutor() { Stop(); }

Status BoundedExecutor::Overloaded(const std::string& why) const {
  return ResourceExhausted(options_.name + " is overloaded (" + why + "); retry shortly")
      .WithDetail(StatusDetail::kOverloaded)
      .WithRetryAfter(std::chrono::seconds(1));
}

Status BoundedExecutor::Post(std::function<void()> run, std::function<void(const Status&)> reject) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Overloaded("stopping");
    if (queue_.size() >= options_.queue) {
      refused_full_->Inc();
      return Overloaded(std::to_string(queue_.size()) + " tasks queued");
    }
    queue_.push_back(Task{std::chrono::steady_clock::now(), std::move(run), std::move(reject)});
    queued_gauge_->Add(1);
    if (queue_.size() == 1) sweep_cv_.notify_one();
  }
  work_cv_.notify_one();
  return Status::Ok();
}

void BoundedExecutor::Work() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
      queued_gauge_->Add(-1);
      sweep_cv_.notify_one();
    }
    running_gauge_->Add(1);
    task.run();
    task = Task{};  // what the task holds is released before it counts as done
    running_gauge_->Add(-1);
  }
}

void BoundedExecutor::Sweep() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      sweep_cv_.wait(lock);
      continue;
    }
    const auto deadline = queue_.front().enqueued + options_.queue_deadline;
    if (std::chrono::steady_clock::now() < deadline) {
      sweep_cv_.wait_until(lock, deadline);
      continue;
    }
    Task late = std::move(queue_.front());
    queue_.pop_front();
    queued_gauge_->Add(-1);
    refused_late_->Inc();
    lock.unlock();
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - late.enqueued);
    late.reject(Overloaded("waited " + std::to_string(waited.count()) + " ms for a thread"));
    late = Task{};
    lock.lock();
  }
}

void BoundedExecutor::Stop() {
  std::deque<Task> refused;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    refused.swap(queue_);
    queued_gauge_->Set(0);
  }
  work_cv_.notify_all();
  sweep_cv_.notify_all();
  for (Task& task : refused) task.reject(Unavailable(options_.name + ": node stopping"));
  refused.clear();
  for (std::thread& t : threads_) t.join();
  sweeper_.join();
}

size_t BoundedExecutor::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace unicache

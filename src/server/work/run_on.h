// RunOn: runs blocking work on a resource's BoundedExecutor and resumes the calling coroutine on
// its own executor with the result, or at once with the 503 status when the resource is
// overloaded. Origin, disk and peer I/O never run on an event loop.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/work/bounded_executor.h"

namespace unicache {

// Resumes the coroutine that owns `handler` (use_awaitable's) on its own executor with `value`.
// Always posted, never run inline: the caller may be inside the handler's own initiation.
template <typename Handler, typename T>
void ResumeWith(std::shared_ptr<Handler> handler, std::shared_ptr<T> value) {
  auto ex = boost::asio::get_associated_executor(*handler);
  boost::asio::post(ex, [handler = std::move(handler), value = std::move(value)]() mutable {
    std::move (*handler)(std::move(value));
  });
}

// Work started on an executor now and awaited later, while the caller does other work (an upload
// whose origin write runs while the event loop reads the body). Thread-safe.
template <typename T>
class Started {
 public:
  // Resumes the caller, on its own executor, with the work's value (or its refusal).
  boost::asio::awaitable<T> Wait() {
    auto value = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                      void(std::shared_ptr<T>)>(
        [this](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          std::unique_lock lock(mu_);
          if (value_ == nullptr) {
            waiter_ = [h](std::shared_ptr<T> v) { ResumeWith(h, std::move(v)); };
            return;
          }
          auto v = value_;
          lock.unlock();
          ResumeWith(h, std::move(v));
        },
        boost::asio::use_awaitable);
    co_return std::move(*value);
  }

  // Called once, by the executor, with the value.
  void Complete(std::shared_ptr<T> value) {
    std::function<void(std::shared_ptr<T>)> waiter;
    {
      std::lock_guard lock(mu_);
      value_ = value;
      waiter = std::move(waiter_);
    }
    if (waiter) waiter(std::move(value));
  }

 private:
  std::mutex mu_;
  std::shared_ptr<T> value_;
  std::function<void(std::shared_ptr<T>)> waiter_;
};

// Queues fn() on `executor` and returns at once; Wait() on the result for its value, or for the
// Status that refused it (as RunOn). `fn` is copied to the executor; a refused task's copies are
// destroyed without running.
template <typename Fn>
auto StartOn(BoundedExecutor& executor, Fn fn) -> std::shared_ptr<Started<decltype(fn())>> {
  using T = decltype(fn());
  auto started = std::make_shared<Started<T>>();
  Status queued = executor.Post(
      [started, fn]() { started->Complete(std::make_shared<T>(fn())); },
      [started](const Status& refused) { started->Complete(std::make_shared<T>(refused)); });
  if (!queued.ok()) started->Complete(std::make_shared<T>(queued));
  return started;
}

// Returns fn()'s value, run on `executor`, or, when the executor refused it (queue full, queue
// deadline passed, stopping), that Status as the value. The value type (a Result or a Status)
// must be constructible from a Status. `fn` is copied to the executor; anything it references
// must outlive the co_await.
template <typename Fn>
auto RunOn(BoundedExecutor& executor, Fn fn) -> boost::asio::awaitable<decltype(fn())> {
  std::shared_ptr<Started<decltype(fn())>> started = StartOn(executor, std::move(fn));
  co_return co_await started->Wait();
}

// Runs every job on `executor`, all in parallel, and resumes the caller once each has run or been
// refused; `(*refused)(i)` (if given) is called for each job i the executor refused, which did
// not run. Takes the jobs out of `jobs`. The jobs must not throw; anything they reference must
// outlive the co_await. (By reference, not by value: g++ 12 may destroy a by-value argument of a
// co_await expression twice.)
boost::asio::awaitable<void> RunAllOn(BoundedExecutor& executor,
                                      std::vector<std::function<void()>>& jobs,
                                      const std::function<void(size_t)>* refused = nullptr);

}  // namespace unicache

// RunBlocking: runs blocking work on a thread pool and resumes the calling coroutine on its own
// executor with the result, so origin and disk I/O never run on the event loop.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <utility>

namespace unicache {

// Returns, to the awaiting coroutine, the value of fn() run on `pool`. `fn` is moved to the pool;
// anything it references must outlive the co_await.
template <typename Fn>
auto RunBlocking(boost::asio::thread_pool& pool, Fn fn) -> boost::asio::awaitable<decltype(fn())> {
  using T = decltype(fn());
  // The handler signature carries a shared_ptr so the result type need not be
  // default-constructible.
  auto result = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                     void(std::shared_ptr<T>)>(
      [&pool, fn = std::move(fn)](auto handler) mutable {
        boost::asio::post(pool, [fn = std::move(fn), handler = std::move(handler)]() mutable {
          auto value = std::make_shared<T>(fn());
          auto ex = boost::asio::get_associated_executor(handler);
          boost::asio::dispatch(ex,
                                [handler = std::move(handler), value = std::move(value)]() mutable {
                                  std::move(handler)(std::move(value));
                                });
        });
      },
      boost::asio::use_awaitable);
  co_return std::move(*result);
}

}  // namespace unicache

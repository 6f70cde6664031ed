// AwaitFlight: a coroutine's side of SingleFlight. A reader of a key being fetched awaits the
// fetch on its event loop instead of parking a thread.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "server/objects/single_flight.h"
#include "server/work/bounded_executor.h"
#include "server/work/run_on.h"

namespace unicache {

// Returns the value of `key`'s flight in `flights`. Joins the flight in progress (sets
// *coalesced, if given, to true), or starts one: then `lead` gets the claim, on this thread and
// before this coroutine suspends, and must see it finished (usually by PostClaim). The coroutine
// resumes on its own executor; when that has several threads it may resume before `lead`
// returns, so `lead` must not touch the coroutine's locals once it has handed the claim on.
template <typename K, typename V, typename H, typename Lead>
boost::asio::awaitable<V> AwaitFlight(SingleFlight<K, V, H>& flights, const K& key, V if_unfinished,
                                      Lead lead, bool* coalesced = nullptr) {
  auto value = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                    void(std::shared_ptr<V>)>(
      [&](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto claim = flights.Join(key, std::move(if_unfinished),
                                  [h](const V& v) { ResumeWith(h, std::make_shared<V>(v)); });
        if (coalesced != nullptr) *coalesced = !claim.has_value();
        if (claim) lead(std::move(*claim));
      },
      boost::asio::use_awaitable);
  co_return std::move(*value);
}

// Queues `work(claim)` on `executor`. The claim is finished by the work, or with the refusal
// when the executor refuses it (at once when its queue is full). `work` may move the claim on.
template <typename Claim, typename Work>
void PostClaim(BoundedExecutor& executor, Claim claim, Work work) {
  auto c = std::make_shared<Claim>(std::move(claim));
  Status queued = executor.Post([c, work]() mutable { work(*c); },
                                [c](const Status& refused) { c->Finish(refused); });
  if (!queued.ok()) c->Finish(queued);
}

}  // namespace unicache

#include "server/work/run_on.h"

namespace unicache {

namespace asio = boost::asio;

asio::awaitable<void> RunAllOn(BoundedExecutor& executor, std::vector<std::function<void()>>& jobs,
                               const std::function<void(size_t)>* refused) {
  if (jobs.empty()) co_return;
  std::vector<std::function<void()>> taken = std::move(jobs);
  jobs.clear();
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::shared_ptr<bool>)>(
      [&executor, &taken, refused](auto handler) {
        using Handler = decltype(handler);
        struct State {
          std::shared_ptr<Handler> resume;
          std::atomic<size_t> left;
          void Done() {
            if (left.fetch_sub(1) == 1) ResumeWith(resume, std::make_shared<bool>(true));
          }
        };
        // One count more than the jobs, dropped once every job is queued: on a loop with several
        // threads the coroutine could otherwise resume, and free `taken`, while this still runs.
        auto state = std::make_shared<State>(std::make_shared<Handler>(std::move(handler)),
                                             taken.size() + 1);
        for (size_t i = 0; i < taken.size(); ++i) {
          auto on_refusal = [state, refused, i](const Status&) {
            if (refused != nullptr) (*refused)(i);
            state->Done();
          };
          Status queued = executor.Post(
              [state, job = &taken[i]] {
                (*job)();
                state->Done();
              },
              on_refusal);
          if (!queued.ok()) on_refusal(queued);
        }
        state->Done();
      },
      asio::use_awaitable);
}

}  // namespace unicache

// SingleFlight: concurrent calls for the same key share one execution.
#pragma once

#include <functional>
#include <future>
#include <mutex>
#include <unordered_map>

namespace unicache {

// Runs a function at most once at a time per key: the first caller (the leader) runs it, callers
// that arrive while it runs wait for and share the leader's result. Once the leader finishes the
// key is forgotten, so a later call runs again (the caller's cache makes that a hit).
// Thread-safe. Callers block while waiting, so call it off the event loop.
template <typename K, typename V, typename Hash = std::hash<K>>
class SingleFlight {
 public:
  // Returns fn()'s result, from this call or from a concurrent one. Sets *coalesced (if non-null)
  // to true when the result came from another caller's run.
  V Do(const K& key, const std::function<V()>& fn, bool* coalesced = nullptr) {
    std::promise<V> promise;
    std::shared_future<V> future;
    bool leader = false;
    {
      std::lock_guard lock(mu_);
      auto it = inflight_.find(key);
      if (it != inflight_.end()) {
        future = it->second;
      } else {
        future = promise.get_future().share();
        inflight_.emplace(key, future);
        leader = true;
      }
    }
    if (coalesced) *coalesced = !leader;
    if (!leader) return future.get();
    V value = fn();
    {
      std::lock_guard lock(mu_);
      inflight_.erase(key);
    }
    promise.set_value(value);
    return value;
  }

  // Returns the number of keys being computed now.
  size_t InFlight() const {
    std::lock_guard lock(mu_);
    return inflight_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<K, std::shared_future<V>, Hash> inflight_;
};

}  // namespace unicache

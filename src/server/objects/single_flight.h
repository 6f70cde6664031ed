// SingleFlight: concurrent calls for the same key share one execution.
#pragma once

#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace unicache {

// Runs a function at most once at a time per key: the first caller (the leader) runs it, callers
// that arrive while it runs wait for and share the leader's result. Once the leader finishes the
// key is forgotten, so a later call runs again (the caller's cache makes that a hit).
// Thread-safe. Callers block while waiting, so call it off the event loop.
template <typename K, typename V, typename Hash = std::hash<K>>
class SingleFlight {
 public:
  // The right to compute one key's value for everyone: Do() callers for the key wait until
  // Finish(). A claim dropped unfinished finishes with the value given to TryClaim(). Movable,
  // not copyable; must not outlive its SingleFlight.
  class Claim {
   public:
    Claim(Claim&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)),
          key_(std::move(other.key_)),
          promise_(std::move(other.promise_)),
          if_unfinished_(std::move(other.if_unfinished_)) {}
    Claim& operator=(Claim&&) = delete;
    ~Claim() {
      if (owner_ != nullptr) Finish(std::move(if_unfinished_));
    }

    const K& key() const { return key_; }

    // Publishes `value` to the waiters and forgets the key. REQUIRES: not finished yet.
    void Finish(V value) {
      SingleFlight* owner = std::exchange(owner_, nullptr);
      {
        std::lock_guard lock(owner->mu_);
        owner->inflight_.erase(key_);
      }
      promise_.set_value(std::move(value));
    }

   private:
    friend class SingleFlight;
    Claim(SingleFlight* owner, K key, std::promise<V> promise, V if_unfinished)
        : owner_(owner),
          key_(std::move(key)),
          promise_(std::move(promise)),
          if_unfinished_(std::move(if_unfinished)) {}

    SingleFlight* owner_;  // null once finished (or moved from)
    K key_;
    std::promise<V> promise_;
    V if_unfinished_;
  };

  // Returns a claim on `key`, or nullopt when a call for it is running already.
  std::optional<Claim> TryClaim(const K& key, V if_unfinished) {
    std::promise<V> promise;
    std::lock_guard lock(mu_);
    if (inflight_.count(key) > 0) return std::nullopt;
    inflight_.emplace(key, promise.get_future().share());
    return Claim(this, key, std::move(promise), std::move(if_unfinished));
  }

  // Returns fn()'s result, from this call or from a concurrent one (or a claim's Finish()).
  // Sets *coalesced (if non-null) to true when the result came from elsewhere. Exception-safe:
  // when fn() throws, the key is forgotten and the leader and its waiters all get the exception.
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
    std::optional<V> value;
    try {
      value.emplace(fn());
    } catch (...) {
      // The key must not stay in flight with nobody to finish it: its waiters would wait
      // forever. They get the leader's exception instead.
      {
        std::lock_guard lock(mu_);
        inflight_.erase(key);
      }
      promise.set_exception(std::current_exception());
      throw;
    }
    {
      std::lock_guard lock(mu_);
      inflight_.erase(key);
    }
    promise.set_value(*value);
    return std::move(*value);
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

// SingleFlight: concurrent requests for the same key share one computation, without a thread
// waiting for it.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace unicache {

// A key is "in flight" from the moment a caller claims it until the claim is finished; callers
// that join in between are called back with the value the claim finishes with. Nobody blocks:
// the callbacks run on the thread that finishes the claim, outside the lock (await_flight.h turns
// them into a coroutine's resumption on its own event loop). Thread-safe.
template <typename K, typename V, typename Hash = std::hash<K>>
class SingleFlight {
 public:
  // Gets the flight's value once; must not block (post the real work elsewhere).
  using Waiter = std::function<void(const V&)>;

  // The right to compute one key's value for everyone: its waiters are called by Finish(). A
  // claim dropped unfinished finishes with the value given when it was taken, so no waiter is
  // left hanging. Movable, not copyable; must not outlive its SingleFlight.
  class Claim {
   public:
    Claim(Claim&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)),
          key_(std::move(other.key_)),
          if_unfinished_(std::move(other.if_unfinished_)) {}
    Claim& operator=(Claim&&) = delete;
    ~Claim() {
      if (owner_ != nullptr) Finish(std::move(if_unfinished_));
    }

    const K& key() const { return key_; }

    // Forgets the key and calls every waiter with `value`. REQUIRES: not finished yet.
    void Finish(V value) {
      SingleFlight* owner = std::exchange(owner_, nullptr);
      std::vector<Waiter> waiters;
      {
        std::lock_guard lock(owner->mu_);
        auto node = owner->inflight_.extract(key_);
        waiters = std::move(node.mapped());
      }
      for (Waiter& waiter : waiters) waiter(value);
    }

   private:
    friend class SingleFlight;
    Claim(SingleFlight* owner, K key, V if_unfinished)
        : owner_(owner), key_(std::move(key)), if_unfinished_(std::move(if_unfinished)) {}

    SingleFlight* owner_;  // null once finished (or moved from)
    K key_;
    V if_unfinished_;
  };

  // Returns a claim on `key`, or nullopt when it is in flight already.
  std::optional<Claim> TryClaim(const K& key, V if_unfinished) {
    std::lock_guard lock(mu_);
    if (!inflight_.try_emplace(key).second) return std::nullopt;
    return Claim(this, key, std::move(if_unfinished));
  }

  // Joins `key`'s flight, starting it when there is none: `waiter` is called with the value the
  // flight finishes with, either way. Returns the claim when this call started the flight; the
  // caller then owns the computation and must see the claim finished (or dropped).
  std::optional<Claim> Join(const K& key, V if_unfinished, Waiter waiter) {
    std::lock_guard lock(mu_);
    auto [it, started] = inflight_.try_emplace(key);
    it->second.push_back(std::move(waiter));
    if (!started) return std::nullopt;
    return Claim(this, key, std::move(if_unfinished));
  }

  // Returns the number of keys in flight now.
  size_t InFlight() const {
    std::lock_guard lock(mu_);
    return inflight_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<K, std::vector<Waiter>, Hash> inflight_;
};

}  // namespace unicache

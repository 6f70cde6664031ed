// InFlightLimit: caps the operations in flight per key (a peer), so one slow or hung peer holds
// at most that many of the caller's threads.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace unicache {

// Thread-safe.
class InFlightLimit {
 public:
  explicit InFlightLimit(size_t max_per_key) : max_(max_per_key) {}

  // One operation's place, given back when destroyed. Movable.
  class Slot {
   public:
    Slot(Slot&& other) noexcept
        : limit_(std::exchange(other.limit_, nullptr)), key_(std::move(other.key_)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (limit_ != nullptr) limit_->Release(key_);
    }

   private:
    friend class InFlightLimit;
    Slot(InFlightLimit* limit, std::string key) : limit_(limit), key_(std::move(key)) {}
    InFlightLimit* limit_;
    std::string key_;
  };

  // Returns a slot for `key`, or nullopt when max_per_key operations on it are in flight.
  std::optional<Slot> TryAcquire(const std::string& key) {
    std::lock_guard lock(mu_);
    size_t& n = in_flight_[key];
    if (n >= max_) return std::nullopt;
    ++n;
    return Slot(this, key);
  }

  size_t max_per_key() const { return max_; }

 private:
  void Release(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(key);
    if (--it->second == 0) in_flight_.erase(it);
  }

  const size_t max_;
  std::mutex mu_;
  std::unordered_map<std::string, size_t> in_flight_;  // keys with operations in flight
};

}  // namespace unicache

// PeerHealth: which members recently refused connections or timed out, so routing can skip
// them and try the next owner in rendezvous order.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include "common/fork_safe_mutex.h"

#include "cluster/member.h"
#include "common/status.h"

namespace unicache {

struct PeerHealthOptions {
  std::chrono::milliseconds initial_backoff{1000};  // down period after the first failure
  std::chrono::milliseconds max_backoff{30000};     // cap for repeated failures
  double multiplier = 2.0;                          // backoff growth per consecutive failure
  // A granted probe that is never reported (the caller found another member first) is given
  // up after this, so the peer is not left down forever.
  std::chrono::milliseconds probe_timeout{3000};
  // Returns the current time; steady_clock::now by default. Tests substitute a fake clock.
  std::function<std::chrono::steady_clock::time_point()> now;
};

// Tracks down peers by member id. A failure marks a peer down for a backoff that doubles with
// each consecutive failure (capped); once it elapses one caller is granted a probe, and the
// peer is up again on the first success. Unknown peers are up. Thread-safe (one mutex; calls
// are short).
class PeerHealth {
 public:
  explicit PeerHealth(PeerHealthOptions options = {});

  // Returns true when a request to `id` should be tried now: the peer is up, or its backoff has
  // elapsed and no other probe is in flight (this call then takes the probe).
  bool ShouldTry(std::string_view id);
  // Records a successful request: the peer is up.
  void ReportSuccess(std::string_view id);
  // Records a refused connection or timeout: the peer goes (or stays) down.
  void ReportFailure(std::string_view id);
  // Records the outcome of a request: retryable errors (Unavailable, DeadlineExceeded) count
  // as failures, anything else (including 4xx-style errors) proves the peer is alive.
  void Report(std::string_view id, const Status& status);
  // Returns true while `id` is marked down (including while a probe is allowed or in flight).
  bool IsDown(std::string_view id) const;

  // Returns `owners` with peers that should not be tried moved to the end, keeping HRW order
  // within each group, so the caller tries healthy owners first and down ones last. Takes
  // probes for the down peers whose backoff elapsed (they stay in the healthy group).
  std::vector<const Member*> Order(const std::vector<const Member*>& owners);

  // Forgets peers not in `ids` (call after a membership change to bound memory).
  void Retain(const std::vector<std::string>& ids);

 private:
  struct State {
    int failures = 0;
    std::chrono::steady_clock::time_point down_until;
    bool probing = false;
    std::chrono::steady_clock::time_point probe_started;
  };
  bool ShouldTryLocked(std::string_view id, std::chrono::steady_clock::time_point now);

  const PeerHealthOptions options_;
  mutable ForkSafeMutex mu_;
  std::unordered_map<std::string, State> down_;  // only peers with failures > 0
};

}  // namespace unicache

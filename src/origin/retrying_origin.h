// RetryingOrigin: a decorator that makes any Origin robust against throttling and transient
// failures: capped exponential backoff with full jitter, Retry-After hints, a per-call deadline,
// and a bound on concurrent requests to the wrapped origin.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "origin/origin.h"

namespace unicache {

struct RetryOptions {
  int max_attempts = 6;                              // tries per call, the first included
  std::chrono::milliseconds initial_backoff{50};     // cap of the first backoff's jitter range
  std::chrono::milliseconds max_backoff{5000};       // no single backoff is longer
  std::chrono::milliseconds max_retry_after{30000};  // Retry-After hints are clipped to this
  std::chrono::milliseconds call_deadline{120000};   // whole call, waiting and retries included
  int max_concurrency = 64;                          // requests in flight to the wrapped origin
};

// Returns the backoff before retry number `retry` (0 for the first retry): a uniform draw in
// [0, min(max_backoff, initial_backoff * 2^retry)], `unit` in [0,1) supplying the randomness.
std::chrono::milliseconds BackoffFor(const RetryOptions& options, int retry, double unit);

// Wraps `inner`. Thread-safe: calls from any number of threads; at most max_concurrency reach the
// inner origin at once, the rest wait (within their deadline). Retries only retryable errors
// (Unavailable, DeadlineExceeded); others return at once. When the deadline would pass before the
// next attempt, returns DeadlineExceeded naming the last error.
std::unique_ptr<Origin> WrapWithRetries(std::unique_ptr<Origin> inner,
                                        const RetryOptions& options = {});

}  // namespace unicache

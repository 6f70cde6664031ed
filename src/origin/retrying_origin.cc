#include "origin/retrying_origin.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "origin/http_status.h"

namespace unicache {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A counting semaphore whose Acquire gives up at a deadline. Thread-safe.
class DeadlineSemaphore {
 public:
  explicit DeadlineSemaphore(int permits) : permits_(std::max(1, permits)) {}

  // Takes a permit; returns false if none came free before `deadline`.
  bool Acquire(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return permits_ > 0; })) return false;
    --permits_;
    return true;
  }

  void Release() {
    {
      std::lock_guard lock(mu_);
      ++permits_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int permits_;
};

double UnitRandom() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

class RetryingOrigin final : public Origin {
 public:
  RetryingOrigin(std::unique_ptr<Origin> inner, RetryOptions options)
      : inner_(std::move(inner)), options_(options), slots_(options.max_concurrency) {}

  std::string_view Scheme() const override { return inner_->Scheme(); }

  // Ends the backoff waits at once and stops retrying; the inner origin aborts its requests.
  void Cancel() override {
    {
      std::lock_guard lock(cancel_mu_);
      cancelled_ = true;
    }
    cancel_cv_.notify_all();
    inner_->Cancel();
  }

  Result<ObjectInfo> Stat(std::string_view path) override {
    return Run<ObjectInfo>("stat", [&] { return inner_->Stat(path); });
  }

  Result<size_t> Read(std::string_view path, std::string_view version, uint64_t offset,
                      std::span<std::byte> dst) override {
    return Run<size_t>("read", [&] { return inner_->Read(path, version, offset, dst); });
  }

  // A retry resumes after the bytes the sink already has, so it never sees a byte twice. An
  // error from the sink itself ends the read at once.
  Result<uint64_t> ReadStream(std::string_view path, std::string_view version, uint64_t offset,
                              uint64_t length, const ByteSink& sink) override {
    uint64_t delivered = 0;
    Status sink_error;
    ByteSink counted = [&](std::span<const std::byte> piece) -> Status {
      sink_error = sink(piece);
      if (sink_error.ok()) delivered += piece.size();
      return sink_error;
    };
    return Run<uint64_t>("read", [&]() -> Result<uint64_t> {
      uint64_t left = length == kToEnd ? kToEnd : length - delivered;
      if (left == 0) return delivered;
      Result<uint64_t> n = inner_->ReadStream(path, version, offset + delivered, left, counted);
      if (!sink_error.ok()) return StoppedByReader(sink_error);
      if (!n.ok()) return n.status();
      return delivered;
    });
  }

  // Retried whole until the metadata is in; after that, a retry resumes at the version it named,
  // after the bytes the sink already has (an object changed since fails with PreconditionFailed).
  Result<uint64_t> OpenStream(std::string_view path, uint64_t length, const InfoSink& on_info,
                              const ByteSink& sink) override {
    std::optional<std::string> version;  // set once on_info accepted the metadata
    uint64_t delivered = 0;
    Status reader_error;
    InfoSink noted = [&](const ObjectInfo& info) -> Status {
      reader_error = on_info(info);
      if (reader_error.ok()) version = info.version;
      return reader_error;
    };
    ByteSink counted = [&](std::span<const std::byte> piece) -> Status {
      reader_error = sink(piece);
      if (reader_error.ok()) delivered += piece.size();
      return reader_error;
    };
    return Run<uint64_t>("read", [&]() -> Result<uint64_t> {
      uint64_t left = length == kToEnd ? kToEnd : length - delivered;
      if (left == 0) return delivered;
      Result<uint64_t> n = version ? inner_->ReadStream(path, *version, delivered, left, counted)
                                   : inner_->OpenStream(path, length, noted, counted);
      if (!reader_error.ok()) return StoppedByReader(reader_error);
      if (!n.ok()) return n.status();
      return delivered;
    });
  }

  Result<ListPage> List(const ListOptions& options) override {
    return Run<ListPage>("list", [&] { return inner_->List(options); });
  }

  Status Delete(std::string_view path) override {
    return Run<bool>("delete",
                     [&]() -> Result<bool> {
                       RETURN_IF_ERROR(inner_->Delete(path));
                       return true;
                     })
        .status();
  }

  // Retried only while none of the body has been pulled: the source cannot be read again.
  Result<ObjectInfo> WriteStream(std::string_view path, uint64_t size,
                                 const ByteSource& source) override {
    bool pulled = false;
    ByteSource noted = [&](std::span<std::byte> dst) {
      pulled = true;
      return source(dst);
    };
    std::optional<Status> final_error;  // a failure once the body was pulled: not retried
    Result<ObjectInfo> r = Run<ObjectInfo>("write", [&]() -> Result<ObjectInfo> {
      Result<ObjectInfo> attempt = inner_->WriteStream(path, size, noted);
      if (attempt.ok() || !pulled || !attempt.status().retryable()) return attempt;
      final_error = attempt.status();
      return Internal("stop retrying");
    });
    if (final_error) return *final_error;
    return r;
  }

 private:
  // The error a read's own sink stopped it with, which is never retried.
  static Status StoppedByReader(const Status& error) {
    if (!error.retryable()) return error;
    return Internal("read stopped by its reader: " + error.ToString());
  }

  template <typename T, typename Fn>
  Result<T> Run(std::string_view op, Fn&& attempt) {
    const Clock::time_point deadline = Clock::now() + options_.call_deadline;
    Status last;
    for (int i = 0; i < std::max(1, options_.max_attempts); ++i) {
      if (!slots_.Acquire(deadline)) {
        return DeadlineExceeded(std::string(op) +
                                ": no free origin request slot before the deadline" +
                                (last.ok() ? "" : "; last error: " + last.ToString()));
      }
      Result<T> r = attempt();
      slots_.Release();
      if (r.ok() || !r.status().retryable()) return r;
      last = r.status();
      if (i + 1 == options_.max_attempts) break;
      milliseconds wait = BackoffFor(options_, i, UnitRandom());
      if (auto hint = last.retry_after())
        wait = std::max(wait, std::min(*hint, options_.max_retry_after));
      if (Clock::now() + wait >= deadline) {
        return DeadlineExceeded(std::string(op) + ": call deadline of " +
                                std::to_string(options_.call_deadline.count()) +
                                " ms reached after " + std::to_string(i + 1) +
                                " attempt(s); last error: " + last.ToString());
      }
      std::unique_lock lock(cancel_mu_);
      if (cancel_cv_.wait_for(lock, wait, [this] { return cancelled_; })) {
        return Unavailable(std::string(op) +
                           " cancelled: stopping; last error: " + last.ToString());
      }
    }
    return last.WithContext(std::string(op) + " failed after " +
                            std::to_string(options_.max_attempts) + " attempts");
  }

  std::unique_ptr<Origin> inner_;
  const RetryOptions options_;
  DeadlineSemaphore slots_;
  std::mutex cancel_mu_;
  std::condition_variable cancel_cv_;
  bool cancelled_ = false;  // guarded by cancel_mu_
};

}  // namespace

milliseconds BackoffFor(const RetryOptions& options, int retry, double unit) {
  double cap = static_cast<double>(options.initial_backoff.count());
  for (int i = 0; i < retry && cap < static_cast<double>(options.max_backoff.count()); ++i)
    cap *= 2;
  cap = std::min(cap, static_cast<double>(options.max_backoff.count()));
  unit = std::clamp(unit, 0.0, 1.0);
  return milliseconds(static_cast<int64_t>(cap * unit));
}

std::unique_ptr<Origin> WrapWithRetries(std::unique_ptr<Origin> inner,
                                        const RetryOptions& options) {
  return std::unique_ptr<Origin>(new RetryingOrigin(std::move(inner), options));
}

}  // namespace unicache

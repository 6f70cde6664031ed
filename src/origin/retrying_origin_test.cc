#include "origin/retrying_origin.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "origin/http_status.h"

namespace unicache {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// An in-memory origin with one object that fails its first `failures` calls with `error`.
// Thread-safe.
class FlakyOrigin final : public Origin {
 public:
  FlakyOrigin(int failures, Status error, milliseconds latency = milliseconds(0))
      : failures_(failures), error_(std::move(error)), latency_(latency) {}

  std::string_view Scheme() const override { return "mem"; }
  Result<ObjectInfo> Stat(std::string_view path) override {
    RETURN_IF_ERROR(Enter());
    Leave();
    if (path != "obj") return NotFound("no such object");
    return ObjectInfo{"obj", data_.size(), "v1", 0};
  }
  Result<size_t> Read(std::string_view, std::string_view version, uint64_t offset,
                      std::span<std::byte> dst) override {
    RETURN_IF_ERROR(Enter());
    Leave();
    if (version != "v1") return PreconditionFailed("changed");
    size_t n = offset >= data_.size() ? 0 : std::min(dst.size(), data_.size() - offset);
    std::memcpy(dst.data(), data_.data() + offset, n);
    return n;
  }
  Result<ListPage> List(const ListOptions&) override {
    RETURN_IF_ERROR(Enter());
    Leave();
    return ListPage{};
  }
  Result<ObjectInfo> WriteStream(std::string_view, uint64_t, const ByteSource&) override {
    return Unimplemented("read-only");
  }

  int calls() const { return calls_.load(); }
  int max_in_flight() const { return max_in_flight_.load(); }

 private:
  Status Enter() {
    int n = ++calls_;
    int now = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
    if (n <= failures_) {
      --in_flight_;
      return error_;
    }
    return Status::Ok();
  }
  void Leave() { --in_flight_; }

  const int failures_;
  const Status error_;
  const milliseconds latency_;
  const std::string data_ = "0123456789";
  std::atomic<int> calls_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
};

// An origin whose streams break after `cut` bytes on the first `cuts` calls; records where
// each stream started. Thread-compatible.
class CutStreamOrigin final : public Origin {
 public:
  CutStreamOrigin(int cuts, size_t cut) : cuts_(cuts), cut_(cut) {
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<char>(i * 13 + 1);
  }
  std::string_view Scheme() const override { return "mem"; }
  Result<ObjectInfo> Stat(std::string_view) override {
    return ObjectInfo{"obj", data_.size(), "v1", 0};
  }
  Result<size_t> Read(std::string_view, std::string_view, uint64_t, std::span<std::byte>) override {
    return Unimplemented("streams only");
  }
  Result<uint64_t> ReadStream(std::string_view, std::string_view, uint64_t offset, uint64_t length,
                              const ByteSink& sink) override {
    starts_.push_back({offset, length});
    uint64_t end = length == kToEnd ? data_.size() : offset + length;
    bool cut = static_cast<int>(starts_.size()) <= cuts_;
    uint64_t stop = cut ? std::min<uint64_t>(end, offset + cut_) : end;
    RETURN_IF_ERROR(sink(std::as_bytes(std::span(data_.data() + offset, stop - offset))));
    if (cut) return Unavailable("connection reset by peer");
    return stop - offset;
  }
  Result<ListPage> List(const ListOptions&) override { return ListPage{}; }
  Result<ObjectInfo> WriteStream(std::string_view, uint64_t, const ByteSource&) override {
    return Unimplemented("read-only");
  }

  const std::string& data() const { return data_; }
  const std::vector<std::pair<uint64_t, uint64_t>>& starts() const { return starts_; }

 private:
  const int cuts_;
  const size_t cut_;
  std::string data_ = std::string(10000, '\0');
  std::vector<std::pair<uint64_t, uint64_t>> starts_;
};

RetryOptions FastOptions() {
  RetryOptions o;
  o.initial_backoff = milliseconds(1);
  o.max_backoff = milliseconds(20);
  o.call_deadline = milliseconds(5000);
  return o;
}

TEST(BackoffTest, FullJitterWithinCappedExponentialBounds) {
  RetryOptions o;
  o.initial_backoff = milliseconds(100);
  o.max_backoff = milliseconds(1000);
  EXPECT_EQ(BackoffFor(o, 0, 0.0), milliseconds(0));
  EXPECT_EQ(BackoffFor(o, 0, 0.999), milliseconds(99));
  EXPECT_EQ(BackoffFor(o, 2, 0.5), milliseconds(200));  // cap 400
  EXPECT_EQ(BackoffFor(o, 3, 0.999), milliseconds(799));
  EXPECT_EQ(BackoffFor(o, 10, 0.999), milliseconds(999));   // capped at max_backoff
  EXPECT_EQ(BackoffFor(o, 1000, 1.0), milliseconds(1000));  // no overflow
}

TEST(RetryingOriginTest, RetriesTransientFailuresThenSucceeds) {
  auto flaky = std::make_unique<FlakyOrigin>(3, Unavailable("HTTP 503"));
  FlakyOrigin* raw = flaky.get();
  auto origin = WrapWithRetries(std::move(flaky), FastOptions());
  auto info = origin->Stat("obj");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 10u);
  EXPECT_EQ(raw->calls(), 4);
  EXPECT_EQ(origin->Scheme(), "mem");
}

TEST(RetryingOriginTest, ReadReturnsCorrectBytesAfterTimeouts) {
  auto origin =
      WrapWithRetries(std::make_unique<FlakyOrigin>(2, DeadlineExceeded("timeout")), FastOptions());
  std::vector<std::byte> buf(4);
  auto n = origin->Read("obj", "v1", 3, buf);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, 4u);
  EXPECT_EQ(std::memcmp(buf.data(), "3456", 4), 0);
}

TEST(RetryingOriginTest, PermanentErrorsReturnAtOnce) {
  for (Status err : {NotFound("gone"), PermissionDenied("HTTP 403"), PreconditionFailed("HTTP 412"),
                     InvalidArgument("HTTP 400")}) {
    auto flaky = std::make_unique<FlakyOrigin>(100, err);
    FlakyOrigin* raw = flaky.get();
    auto origin = WrapWithRetries(std::move(flaky), FastOptions());
    auto start = Clock::now();
    auto r = origin->Stat("obj");
    EXPECT_EQ(r.status().code(), err.code());
    EXPECT_EQ(raw->calls(), 1);
    EXPECT_LT(Clock::now() - start, milliseconds(100));
  }
}

TEST(RetryingOriginTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  auto flaky = std::make_unique<FlakyOrigin>(100, Unavailable("connection refused"));
  FlakyOrigin* raw = flaky.get();
  RetryOptions o = FastOptions();
  o.max_attempts = 4;
  auto origin = WrapWithRetries(std::move(flaky), o);
  auto start = Clock::now();
  auto r = origin->List({});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("connection refused"), std::string::npos);
  EXPECT_NE(r.status().message().find("after 4 attempts"), std::string::npos);
  EXPECT_EQ(raw->calls(), 4);
  EXPECT_LT(Clock::now() - start, milliseconds(500));
}

TEST(RetryingOriginTest, HonoursRetryAfter) {
  auto origin = WrapWithRetries(
      std::make_unique<FlakyOrigin>(1, Unavailable("HTTP 503").WithRetryAfter(milliseconds(300))),
      FastOptions());
  auto start = Clock::now();
  ASSERT_TRUE(origin->Stat("obj").ok());
  EXPECT_GE(Clock::now() - start, milliseconds(300));
}

TEST(RetryingOriginTest, DeadlineStopsRetriesQuickly) {
  RetryOptions o = FastOptions();
  o.max_attempts = 100;
  o.call_deadline = milliseconds(200);
  // The server asks for a 10 s pause: waiting would blow the deadline, so the call ends now.
  auto origin =
      WrapWithRetries(std::make_unique<FlakyOrigin>(
                          100, Unavailable("HTTP 429").WithRetryAfter(milliseconds(10000))),
                      o);
  auto start = Clock::now();
  auto r = origin->Stat("obj");
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("HTTP 429"), std::string::npos);
  EXPECT_LT(Clock::now() - start, milliseconds(150));
}

TEST(RetryingOriginTest, CancelEndsABackoffWaitAtOnceAndStopsRetrying) {
  RetryOptions o = FastOptions();
  o.max_attempts = 100;
  o.call_deadline = milliseconds(60000);
  o.max_retry_after = milliseconds(60000);
  auto origin =
      WrapWithRetries(std::make_unique<FlakyOrigin>(
                          100, Unavailable("HTTP 503").WithRetryAfter(milliseconds(30000))),
                      o);
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    origin->Cancel();
  });
  auto start = Clock::now();
  auto r = origin->Stat("obj");
  canceller.join();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(5000));  // not the 30 s the origin asked for
}

TEST(RetryingOriginTest, BoundsConcurrentRequests) {
  auto flaky = std::make_unique<FlakyOrigin>(0, Status::Ok(), milliseconds(20));
  FlakyOrigin* raw = flaky.get();
  RetryOptions o = FastOptions();
  o.max_concurrency = 3;
  auto origin = WrapWithRetries(std::move(flaky), o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] { ok += origin->Stat("obj").ok() ? 1 : 0; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 12);
  EXPECT_LE(raw->max_in_flight(), 3);
  EXPECT_GE(raw->max_in_flight(), 2);
}

TEST(RetryingOriginTest, WaitingForASlotRespectsTheDeadline) {
  auto flaky = std::make_unique<FlakyOrigin>(0, Status::Ok(), milliseconds(300));
  RetryOptions o = FastOptions();
  o.max_concurrency = 1;
  o.call_deadline = milliseconds(50);
  auto origin = WrapWithRetries(std::move(flaky), o);
  std::thread holder([&] { origin->Stat("obj").status().IgnoreError(); });
  std::this_thread::sleep_for(milliseconds(20));
  auto start = Clock::now();
  auto r = origin->Stat("obj");
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, milliseconds(200));
  holder.join();
}

TEST(RetryingOriginTest, BrokenStreamsResumeWhereTheyStoppedWithEveryByteOnce) {
  auto inner = std::make_unique<CutStreamOrigin>(/*cuts=*/2, /*cut=*/3000);
  CutStreamOrigin* raw = inner.get();
  std::unique_ptr<Origin> origin = WrapWithRetries(std::move(inner), FastOptions());
  std::string got;
  Result<uint64_t> n = origin->ReadStream("obj", "v1", 0, kToEnd, [&](auto piece) {
    got.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return Status::Ok();
  });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, raw->data().size());
  EXPECT_EQ(got, raw->data());
  ASSERT_EQ(raw->starts().size(), 3u);
  EXPECT_EQ(raw->starts()[1], std::make_pair(uint64_t{3000}, kToEnd));
  EXPECT_EQ(raw->starts()[2], std::make_pair(uint64_t{6000}, kToEnd));
}

TEST(RetryingOriginTest, BoundedStreamResumesWithWhatIsLeft) {
  auto inner = std::make_unique<CutStreamOrigin>(/*cuts=*/1, /*cut=*/1000);
  CutStreamOrigin* raw = inner.get();
  std::unique_ptr<Origin> origin = WrapWithRetries(std::move(inner), FastOptions());
  std::string got;
  Result<uint64_t> n = origin->ReadStream("obj", "v1", 500, 4000, [&](auto piece) {
    got.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return Status::Ok();
  });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(got, raw->data().substr(500, 4000));
  ASSERT_EQ(raw->starts().size(), 2u);
  EXPECT_EQ(raw->starts()[1], std::make_pair(uint64_t{1500}, uint64_t{3000}));
}

TEST(RetryingOriginTest, AnErrorFromTheStreamsReaderIsNeverRetried) {
  auto inner = std::make_unique<CutStreamOrigin>(/*cuts=*/0, /*cut=*/0);
  CutStreamOrigin* raw = inner.get();
  std::unique_ptr<Origin> origin = WrapWithRetries(std::move(inner), FastOptions());
  Result<uint64_t> n = origin->ReadStream("obj", "v1", 0, kToEnd, [](auto) {
    return Unavailable("reader went away");  // retryable code, but not the origin's failure
  });
  ASSERT_FALSE(n.ok());
  EXPECT_FALSE(n.status().retryable()) << n.status().ToString();
  EXPECT_EQ(raw->starts().size(), 1u);
}

TEST(RetryingOriginTest, OpenRetriesUntilTheMetadataThenTellsItOnce) {
  auto inner = std::make_unique<FlakyOrigin>(2, Unavailable("throttled"));
  std::unique_ptr<Origin> origin = WrapWithRetries(std::move(inner), FastOptions());
  int infos = 0;
  std::string got;
  Result<uint64_t> n = origin->OpenStream(
      "obj", kToEnd,
      [&](const ObjectInfo& info) {
        ++infos;
        EXPECT_EQ(info.version, "v1");
        return Status::Ok();
      },
      [&](auto piece) {
        got.append(reinterpret_cast<const char*>(piece.data()), piece.size());
        return Status::Ok();
      });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(infos, 1);
  EXPECT_EQ(got, "0123456789");
}

TEST(RetryingOriginTest, OpenBrokenAfterTheMetadataResumesAtThatVersion) {
  auto inner = std::make_unique<CutStreamOrigin>(/*cuts=*/1, /*cut=*/3000);
  CutStreamOrigin* raw = inner.get();
  std::unique_ptr<Origin> origin = WrapWithRetries(std::move(inner), FastOptions());
  int infos = 0;
  std::string got;
  Result<uint64_t> n = origin->OpenStream(
      "obj", kToEnd,
      [&](const ObjectInfo&) {
        ++infos;
        return Status::Ok();
      },
      [&](auto piece) {
        got.append(reinterpret_cast<const char*>(piece.data()), piece.size());
        return Status::Ok();
      });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(infos, 1);
  EXPECT_EQ(got, raw->data());
  ASSERT_EQ(raw->starts().size(), 2u);
  EXPECT_EQ(raw->starts()[1], std::make_pair(uint64_t{3000}, kToEnd));
}

TEST(RetryingOriginTest, AnErrorFromTheOpensMetadataReaderIsNeverRetried) {
  auto inner = std::make_unique<CutStreamOrigin>(/*cuts=*/0, /*cut=*/0);
  CutStreamOrigin* raw = inner.get();
  std::unique_ptr<Origin> origin = WrapWithRetries(std::move(inner), FastOptions());
  Result<uint64_t> n = origin->OpenStream(
      "obj", kToEnd, [](const ObjectInfo&) { return AlreadyExists("cached already"); },
      [](auto) { return Status::Ok(); });
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(raw->starts().empty());
}

}  // namespace
}  // namespace unicache

#include "server/objects/object_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace unicache {
namespace {

using namespace std::chrono_literals;

// An in-memory origin that counts calls, can hold reads at a gate, and can fail the next read.
// Thread-safe.
class CountingOrigin final : public Origin {
 public:
  std::string_view Scheme() const override { return "mem"; }

  // Creates or replaces the object at `path`.
  void Set(const std::string& path, std::string data, std::string version) {
    std::lock_guard lock(mu_);
    objects_[path] = {std::move(data), std::move(version)};
  }

  // Makes reads wait until OpenGate().
  void CloseGate() {
    std::lock_guard lock(mu_);
    gate_closed_ = true;
  }
  void OpenGate() {
    {
      std::lock_guard lock(mu_);
      gate_closed_ = false;
    }
    cv_.notify_all();
  }
  // Removes the object at `path`; returns whether it was there.
  bool Remove(const std::string& path) {
    std::lock_guard lock(mu_);
    return objects_.erase(path) > 0;
  }
  // Makes every Stat() and OpenStream() return `status` until it is Ok again (an outage).
  void SetDown(Status status) {
    std::lock_guard lock(mu_);
    down_ = std::move(status);
  }
  // Makes the next Read() return `status`.
  void FailNextRead(Status status) {
    std::lock_guard lock(mu_);
    fail_next_read_ = std::move(status);
  }

  int stat_calls() const { return stat_calls_.load(); }
  int read_calls() const { return read_calls_.load(); }
  int list_calls() const { return list_calls_.load(); }
  int reads_at_gate() {
    std::lock_guard lock(mu_);
    return reads_at_gate_;
  }

  Result<ObjectInfo> Stat(std::string_view path) override {
    stat_calls_.fetch_add(1);
    std::lock_guard lock(mu_);
    if (!down_.ok()) return down_;
    auto it = objects_.find(std::string(path));
    if (it == objects_.end()) return NotFound("no object " + std::string(path));
    return InfoOf(it->first, it->second);
  }

  Result<size_t> Read(std::string_view path, std::string_view version, uint64_t offset,
                      std::span<std::byte> dst) override {
    read_calls_.fetch_add(1);
    std::unique_lock lock(mu_);
    ++reads_at_gate_;
    cv_.wait(lock, [this] { return !gate_closed_; });
    --reads_at_gate_;
    if (!fail_next_read_.ok()) {
      Status s = fail_next_read_;
      fail_next_read_ = Status::Ok();
      return s;
    }
    auto it = objects_.find(std::string(path));
    if (it == objects_.end()) return NotFound("no object " + std::string(path));
    if (it->second.version != version) return PreconditionFailed("version changed");
    const std::string& data = it->second.data;
    if (offset >= data.size()) return size_t{0};
    size_t n = std::min<size_t>(dst.size(), data.size() - offset);
    std::memcpy(dst.data(), data.data() + offset, n);
    return n;
  }

  // Streams in 1000-byte pieces, stopping at the gate before the first one; can fail after a
  // number of bytes (FailStreamAfter).
  Result<uint64_t> ReadStream(std::string_view path, std::string_view version, uint64_t offset,
                              uint64_t length, const ByteSink& sink) override {
    stream_calls_.fetch_add(1);
    return Stream(path, version, offset, length, sink);
  }

  // One request, as a cloud GET: the object's metadata, then its bytes as ReadStream() sends
  // them.
  Result<uint64_t> OpenStream(std::string_view path, uint64_t length, const InfoSink& on_info,
                              const ByteSink& sink) override {
    open_calls_.fetch_add(1);
    ObjectInfo info;
    {
      std::lock_guard lock(mu_);
      if (!down_.ok()) return down_;
      auto it = objects_.find(std::string(path));
      if (it == objects_.end()) return NotFound("no object " + std::string(path));
      info = InfoOf(it->first, it->second);
    }
    RETURN_IF_ERROR(on_info(info));
    if (info.size == 0) return uint64_t{0};
    return Stream(path, info.version, 0, length, sink);
  }

  // Makes the next ReadStream() fail once it has delivered about `bytes`.
  void FailStreamAfter(uint64_t bytes) {
    std::lock_guard lock(mu_);
    fail_stream_after_ = bytes;
  }
  int stream_calls() const { return stream_calls_.load(); }
  int open_calls() const { return open_calls_.load(); }
  std::pair<uint64_t, uint64_t> last_stream() {
    std::lock_guard lock(mu_);
    return last_stream_;
  }

  Result<ListPage> List(const ListOptions& options) override {
    list_calls_.fetch_add(1);
    std::lock_guard lock(mu_);
    ListPage page;
    for (const auto& [path, obj] : objects_) {
      if (path.starts_with(options.prefix)) page.objects.push_back(InfoOf(path, obj));
    }
    return page;
  }

  Result<ObjectInfo> WriteStream(std::string_view, uint64_t, const ByteSource&) override {
    return Unimplemented("read-only");
  }

 private:
  // ReadStream() without the count: stops at the gate, then streams in 1000-byte pieces.
  Result<uint64_t> Stream(std::string_view path, std::string_view version, uint64_t offset,
                          uint64_t length, const ByteSink& sink) {
    std::string data;
    uint64_t fail_after = 0;
    {
      std::unique_lock lock(mu_);
      last_stream_ = {offset, length};
      ++reads_at_gate_;
      cv_.wait(lock, [this] { return !gate_closed_; });
      --reads_at_gate_;
      auto it = objects_.find(std::string(path));
      if (it == objects_.end()) return NotFound("no object " + std::string(path));
      if (it->second.version != version) return PreconditionFailed("version changed");
      data = it->second.data;
      fail_after = std::exchange(fail_stream_after_, 0);
    }
    uint64_t end =
        length == kToEnd ? data.size() : std::min<uint64_t>(data.size(), offset + length);
    uint64_t pos = offset;
    while (pos < end) {
      if (fail_after != 0 && pos - offset >= fail_after) return Unavailable("connection reset");
      size_t n = std::min<uint64_t>(1000, end - pos);
      RETURN_IF_ERROR(sink(std::as_bytes(std::span(data.data() + pos, n))));
      pos += n;
    }
    return pos - offset;
  }

  struct Object {
    std::string data;
    std::string version;
  };
  static ObjectInfo InfoOf(const std::string& path, const Object& obj) {
    ObjectInfo info;
    info.path = path;
    info.size = obj.data.size();
    info.version = obj.version;
    return info;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Object> objects_;
  bool gate_closed_ = false;
  int reads_at_gate_ = 0;
  Status fail_next_read_;
  Status down_;
  uint64_t fail_stream_after_ = 0;
  std::pair<uint64_t, uint64_t> last_stream_;
  std::atomic<int> stream_calls_{0};
  std::atomic<int> open_calls_{0};
  std::atomic<int> stat_calls_{0};
  std::atomic<int> read_calls_{0};
  std::atomic<int> list_calls_{0};
};

template <typename T>
boost::asio::awaitable<void> Into(boost::asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

// Runs `task` on an event loop of this thread until it completes; returns its value.
template <typename T>
T Await(boost::asio::awaitable<T> task) {
  boost::asio::io_context io;
  std::optional<T> value;
  boost::asio::co_spawn(io, Into(std::move(task), &value), boost::asio::detached);
  io.run();
  return std::move(*value);
}

// Returns `size` bytes that differ with `seed` and with position.
std::string Bytes(size_t size, int seed) {
  std::string s(size, '\0');
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::string BlockString(const BlockRef& b) {
  return std::string(reinterpret_cast<const char*>(b->data()), b->size());
}

// Waits for `pred` to hold; the deadline only keeps a bug from hanging the binary.
template <typename Pred>
bool WaitFor(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

constexpr uint64_t kBlockSize = 4096;

class ObjectServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "unicache-objsvc-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    OpenService(1 << 20);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void OpenService(uint64_t ram_bytes, uint64_t fetch_run_bytes = 0,
                   std::chrono::milliseconds metadata_ttl = 1h,
                   std::chrono::milliseconds stale_if_error = 1h) {
    service_.reset();
    store_.reset();
    StoreOptions so;
    so.dir = dir_ + "/store";
    so.ram_bytes = ram_bytes;
    so.ssd_bytes = 8 << 20;
    so.metrics = &metrics_;
    Result<std::unique_ptr<BlockStore>> store = BlockStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto origin = std::make_unique<CountingOrigin>();
    origin_ = origin.get();
    auto other = std::make_unique<CountingOrigin>();
    other_ = other.get();
    std::map<std::string, std::unique_ptr<Origin>> origins;
    origins["mem"] = std::move(origin);
    origins["other"] = std::move(other);
    ObjectServiceOptions options;
    options.block_size = kBlockSize;
    options.metadata_ttl = metadata_ttl;
    options.fetch_run_bytes = fetch_run_bytes;
    options.stale_if_error = stale_if_error;
    service_ =
        std::make_unique<ObjectService>(options, store_.get(), std::move(origins), &metrics_);
  }

  // Returns the value of the series `series` (name plus rendered labels), or -1 when absent.
  int64_t Metric(const std::string& series) {
    std::istringstream in(metrics_.Render());
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(series + " ")) return std::stoll(line.substr(series.size() + 1));
    }
    return -1;
  }

  // The service's coroutines, run to completion on this thread.
  Result<ObjectInfo> Stat(const std::string& origin, const std::string& path, bool refresh = false,
                          StatNote* note = nullptr) {
    return Await(service_->Stat(origin, path, refresh, note));
  }
  Result<ObjectInfo> Open(const std::string& origin, const std::string& path,
                          StatNote* note = nullptr) {
    return Await(service_->Open(origin, path, note));
  }
  Result<BlockRef> GetBlock(const std::string& origin, const ObjectInfo& info, uint64_t index,
                            BlockSource* source = nullptr) {
    return Await(service_->GetBlock(origin, info, index, source));
  }
  Result<ListPage> List(const std::string& origin, const ListOptions& options) {
    return Await(service_->List(origin, options));
  }

  ObjectInfo StatOk(const std::string& path) {
    Result<ObjectInfo> info = Stat("mem", path);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : ObjectInfo{};
  }

  std::string dir_;
  MetricsRegistry metrics_;
  std::unique_ptr<BlockStore> store_;
  CountingOrigin* origin_ = nullptr;  // owned by service_
  CountingOrigin* other_ = nullptr;   // owned by service_
  std::unique_ptr<ObjectService> service_;
};

TEST_F(ObjectServiceTest, OriginNames) {
  EXPECT_TRUE(service_->HasOrigin("mem"));
  EXPECT_TRUE(service_->HasOrigin("other"));
  EXPECT_FALSE(service_->HasOrigin("nope"));
  EXPECT_EQ(service_->OriginNames(), (std::vector<std::string>{"mem", "other"}));
  EXPECT_EQ(service_->block_size(), kBlockSize);
}

TEST_F(ObjectServiceTest, StatIsCachedUntilRefresh) {
  origin_->Set("a.bin", Bytes(100, 1), "v1");
  EXPECT_FALSE(service_->CachedStat("mem", "a.bin").has_value());
  ObjectInfo info = StatOk("a.bin");
  EXPECT_EQ(info.path, "a.bin");
  EXPECT_EQ(info.size, 100u);
  EXPECT_EQ(info.version, "v1");
  EXPECT_EQ(origin_->stat_calls(), 1);
  StatOk("a.bin");
  EXPECT_EQ(origin_->stat_calls(), 1);
  ASSERT_TRUE(service_->CachedStat("mem", "a.bin").has_value());
  EXPECT_EQ(service_->CachedStat("mem", "a.bin")->version, "v1");

  origin_->Set("a.bin", Bytes(200, 2), "v2");
  Result<ObjectInfo> refreshed = Stat("mem", "a.bin", /*refresh=*/true);
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->version, "v2");
  EXPECT_EQ(origin_->stat_calls(), 2);
  EXPECT_EQ(service_->CachedStat("mem", "a.bin")->version, "v2");
}

TEST_F(ObjectServiceTest, StatMissingObjectIsNotFoundAndNotAnOriginError) {
  Result<ObjectInfo> info = Stat("mem", "missing");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(service_->CachedStat("mem", "missing").has_value());
  EXPECT_EQ(Metric("unicache_origin_requests_total{origin=\"mem\"}"), 1);
  EXPECT_EQ(Metric("unicache_origin_errors_total{origin=\"mem\"}"), 0);
}

TEST_F(ObjectServiceTest, UnknownOriginIsNotFound) {
  ObjectInfo info;
  info.path = "a";
  info.size = 10;
  info.version = "v";
  Result<ObjectInfo> st = Stat("nope", "a");
  EXPECT_EQ(st.status().code(), StatusCode::kNotFound);
  Result<BlockRef> b = GetBlock("nope", info, 0);
  EXPECT_EQ(b.status().code(), StatusCode::kNotFound);
  Result<ListPage> l = List("nope", ListOptions{});
  EXPECT_EQ(l.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(origin_->stat_calls() + origin_->read_calls() + origin_->list_calls(), 0);
}

TEST_F(ObjectServiceTest, MissThenRamHit) {
  std::string data = Bytes(3 * kBlockSize, 3);
  origin_->Set("obj", data, "v1");
  ObjectInfo info = StatOk("obj");
  EXPECT_EQ(service_->BlockCount(info.size), 3u);

  BlockSource source = BlockSource::kRam;
  Result<BlockRef> first = GetBlock("mem", info, 1, &source);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(source, BlockSource::kOrigin);
  EXPECT_EQ(BlockString(*first), data.substr(kBlockSize, kBlockSize));
  EXPECT_EQ(origin_->read_calls(), 1);

  Result<BlockRef> second = GetBlock("mem", info, 1, &source);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(source, BlockSource::kRam);
  EXPECT_EQ(BlockString(*second), data.substr(kBlockSize, kBlockSize));
  EXPECT_EQ(origin_->read_calls(), 1);

  EXPECT_EQ(Metric("unicache_origin_requests_total{origin=\"mem\"}"), 2);  // one Stat, one Read
  EXPECT_EQ(Metric("unicache_origin_bytes_total{origin=\"mem\"}"), int64_t{kBlockSize});
  EXPECT_EQ(Metric("unicache_origin_errors_total{origin=\"mem\"}"), 0);
  EXPECT_EQ(Metric("unicache_cache_hits_total{tier=\"ram\"}"), 1);
  EXPECT_EQ(Metric("unicache_cache_hits_total{tier=\"ssd\"}"), 0);
  EXPECT_EQ(Metric("unicache_cache_misses_total"), 1);
  EXPECT_EQ(Metric("unicache_singleflight_coalesced_total"), 0);
  EXPECT_EQ(Metric("unicache_origin_requests_total{origin=\"other\"}"), 0);
}

TEST_F(ObjectServiceTest, ThirtyTwoConcurrentMissesMakeOneOriginRead) {
  constexpr int kThreads = 32;
  std::string data = Bytes(2 * kBlockSize, 4);
  origin_->Set("hot", data, "v1");
  ObjectInfo info = StatOk("hot");

  origin_->CloseGate();
  std::vector<Result<BlockRef>> results(kThreads, Result<BlockRef>(Internal("not run")));
  std::vector<BlockSource> sources(kThreads, BlockSource::kRam);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = GetBlock("mem", info, 0, &sources[i]); });
  }
  // Every caller has missed the store and one of them is inside the origin read.
  ASSERT_TRUE(WaitFor([&] {
    return origin_->reads_at_gate() == 1 && Metric("unicache_cache_misses_total") == kThreads;
  }));
  // A caller counts its miss just before it joins the flight; give the last ones time to take
  // the few steps from one to the other before the leader finishes. Not a timing assertion:
  // a slow thread would show up as a second origin read below.
  std::this_thread::sleep_for(200ms);
  origin_->OpenGate();
  for (auto& t : threads) t.join();

  EXPECT_EQ(origin_->read_calls(), 1);
  int from_origin = 0;
  int coalesced = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
    EXPECT_EQ(BlockString(*results[i]), data.substr(0, kBlockSize)) << i;
    from_origin += sources[i] == BlockSource::kOrigin ? 1 : 0;
    coalesced += sources[i] == BlockSource::kCoalesced ? 1 : 0;
  }
  EXPECT_EQ(from_origin, 1);
  EXPECT_EQ(coalesced, kThreads - 1);
  EXPECT_EQ(Metric("unicache_singleflight_coalesced_total"), kThreads - 1);
  EXPECT_EQ(Metric("unicache_cache_misses_total"), kThreads);
  EXPECT_EQ(Metric("unicache_origin_bytes_total{origin=\"mem\"}"), int64_t{kBlockSize});

  BlockSource source = BlockSource::kOrigin;
  Result<BlockRef> again = GetBlock("mem", info, 0, &source);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(source, BlockSource::kRam);
  EXPECT_EQ(origin_->read_calls(), 1);
  EXPECT_EQ(Metric("unicache_cache_hits_total{tier=\"ram\"}"), 1);
}

TEST_F(ObjectServiceTest, LastBlockIsShort) {
  const uint64_t size = 2 * kBlockSize + 1808;
  std::string data = Bytes(size, 5);
  origin_->Set("odd", data, "v1");
  ObjectInfo info = StatOk("odd");
  ASSERT_EQ(service_->BlockCount(size), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    Result<BlockRef> b = GetBlock("mem", info, i);
    ASSERT_TRUE(b.ok()) << i << ": " << b.status().ToString();
    EXPECT_EQ(BlockString(*b), data.substr(i * kBlockSize, kBlockSize)) << i;
  }
  Result<BlockRef> last = GetBlock("mem", info, 2);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ((*last)->size(), 1808u);
  EXPECT_EQ(origin_->read_calls(), 3);
  EXPECT_EQ(Metric("unicache_origin_bytes_total{origin=\"mem\"}"), int64_t{size});
}

TEST_F(ObjectServiceTest, IndexPastTheEndIsOutOfRange) {
  origin_->Set("small", Bytes(kBlockSize + 1, 6), "v1");
  ObjectInfo info = StatOk("small");
  EXPECT_EQ(GetBlock("mem", info, 2).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(GetBlock("mem", info, ~0ull).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(origin_->read_calls(), 0);
  EXPECT_EQ(Metric("unicache_cache_misses_total"), 0);
}

TEST_F(ObjectServiceTest, EmptyObjectHasNoBlocks) {
  origin_->Set("empty", "", "v1");
  ObjectInfo info = StatOk("empty");
  EXPECT_EQ(service_->BlockCount(0), 0u);
  EXPECT_EQ(GetBlock("mem", info, 0).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(origin_->read_calls(), 0);
}

TEST_F(ObjectServiceTest, BlockSizeBoundaryCounts) {
  EXPECT_EQ(service_->BlockCount(1), 1u);
  EXPECT_EQ(service_->BlockCount(kBlockSize - 1), 1u);
  EXPECT_EQ(service_->BlockCount(kBlockSize), 1u);
  EXPECT_EQ(service_->BlockCount(kBlockSize + 1), 2u);
}

TEST_F(ObjectServiceTest, VersionChangeIsPreconditionFailedAndDropsMetadata) {
  origin_->Set("doc", Bytes(kBlockSize, 7), "v1");
  ObjectInfo old_info = StatOk("doc");
  ASSERT_EQ(origin_->stat_calls(), 1);
  std::string new_data = Bytes(kBlockSize + 10, 8);
  origin_->Set("doc", new_data, "v2");

  Result<BlockRef> stale = GetBlock("mem", old_info, 0);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kPreconditionFailed);
  EXPECT_FALSE(service_->CachedStat("mem", "doc").has_value());
  EXPECT_FALSE(service_->HasBlock("mem", old_info, 0));
  EXPECT_EQ(Metric("unicache_origin_errors_total{origin=\"mem\"}"), 1);

  ObjectInfo new_info = StatOk("doc");  // not cached any more: asks the origin
  EXPECT_EQ(origin_->stat_calls(), 2);
  EXPECT_EQ(new_info.version, "v2");
  EXPECT_EQ(new_info.size, kBlockSize + 10);
  Result<BlockRef> fresh = GetBlock("mem", new_info, 1);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(BlockString(*fresh), new_data.substr(kBlockSize));
}

TEST_F(ObjectServiceTest, ObjectShorterThanItsMetadataIsPreconditionFailed) {
  origin_->Set("shrinks", Bytes(2 * kBlockSize + 100, 9), "v1");
  ObjectInfo info = StatOk("shrinks");
  // Same version but fewer bytes: the origin's object changed without the version saying so.
  origin_->Set("shrinks", Bytes(2 * kBlockSize + 50, 9), "v1");
  Result<BlockRef> b = GetBlock("mem", info, 2);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kPreconditionFailed);
  EXPECT_FALSE(service_->CachedStat("mem", "shrinks").has_value());
  EXPECT_FALSE(service_->HasBlock("mem", info, 2));  // the short block was not cached
}

TEST_F(ObjectServiceTest, TransientOriginErrorIsReturnedAndNotCached) {
  std::string data = Bytes(kBlockSize, 10);
  origin_->Set("flaky", data, "v1");
  ObjectInfo info = StatOk("flaky");
  origin_->FailNextRead(Unavailable("throttled"));
  Result<BlockRef> b = GetBlock("mem", info, 0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(service_->CachedStat("mem", "flaky").has_value());  // the object did not change
  EXPECT_EQ(Metric("unicache_origin_errors_total{origin=\"mem\"}"), 1);

  BlockSource source = BlockSource::kRam;
  Result<BlockRef> retry = GetBlock("mem", info, 0, &source);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(source, BlockSource::kOrigin);
  EXPECT_EQ(BlockString(*retry), data);
  EXPECT_EQ(origin_->read_calls(), 2);
}

TEST_F(ObjectServiceTest, BlocksAreKeyedByOriginAndVersion) {
  std::string a = Bytes(kBlockSize, 11);
  std::string b = Bytes(kBlockSize, 12);
  origin_->Set("same/path", a, "v1");
  other_->Set("same/path", b, "v1");
  ObjectInfo info = StatOk("same/path");
  Result<BlockRef> from_mem = GetBlock("mem", info, 0);
  Result<BlockRef> from_other = GetBlock("other", info, 0);
  ASSERT_TRUE(from_mem.ok());
  ASSERT_TRUE(from_other.ok());
  EXPECT_EQ(BlockString(*from_mem), a);
  EXPECT_EQ(BlockString(*from_other), b);
  EXPECT_EQ(origin_->read_calls(), 1);
  EXPECT_EQ(other_->read_calls(), 1);
  EXPECT_EQ(Metric("unicache_origin_bytes_total{origin=\"other\"}"), int64_t{kBlockSize});

  // A new version of the object never hits the old version's blocks.
  std::string a2 = Bytes(kBlockSize, 13);
  origin_->Set("same/path", a2, "v2");
  ObjectInfo info2 = *Stat("mem", "same/path", /*refresh=*/true);
  Result<BlockRef> fresh = GetBlock("mem", info2, 0);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(BlockString(*fresh), a2);
  EXPECT_EQ(origin_->read_calls(), 2);
}

TEST_F(ObjectServiceTest, GetBlockIfInRamAndHasBlock) {
  origin_->Set("r", Bytes(kBlockSize, 14), "v1");
  ObjectInfo info = StatOk("r");
  EXPECT_EQ(service_->GetBlockIfInRam("mem", info, 0), nullptr);
  EXPECT_FALSE(service_->HasBlock("mem", info, 0));
  EXPECT_EQ(Metric("unicache_cache_hits_total{tier=\"ram\"}"), 0);
  ASSERT_TRUE(GetBlock("mem", info, 0).ok());
  EXPECT_TRUE(service_->HasBlock("mem", info, 0));
  BlockRef hit = service_->GetBlockIfInRam("mem", info, 0);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(BlockString(hit), Bytes(kBlockSize, 14));
  EXPECT_EQ(Metric("unicache_cache_hits_total{tier=\"ram\"}"), 1);
}

TEST_F(ObjectServiceTest, SsdHitIsCountedAsSsd) {
  OpenService(/*ram_bytes=*/1024);  // smaller than a block: blocks go to the SSD tier only
  std::string data = Bytes(kBlockSize, 15);
  origin_->Set("cold", data, "v1");
  ObjectInfo info = StatOk("cold");
  ASSERT_TRUE(GetBlock("mem", info, 0).ok());
  store_->Flush();
  BlockSource source = BlockSource::kOrigin;
  Result<BlockRef> b = GetBlock("mem", info, 0, &source);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(source, BlockSource::kSsd);
  EXPECT_EQ(BlockString(*b), data);
  EXPECT_EQ(origin_->read_calls(), 1);
  EXPECT_EQ(Metric("unicache_cache_hits_total{tier=\"ssd\"}"), 1);
}

TEST_F(ObjectServiceTest, ListGoesToTheOrigin) {
  origin_->Set("d/a", "1", "v");
  origin_->Set("d/b", "22", "v");
  origin_->Set("e/c", "333", "v");
  ListOptions options;
  options.prefix = "d/";
  Result<ListPage> page = List("mem", options);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].path, "d/a");
  EXPECT_EQ(page->objects[1].size, 2u);
  EXPECT_EQ(origin_->list_calls(), 1);
  EXPECT_EQ(Metric("unicache_origin_requests_total{origin=\"mem\"}"), 1);
}

}  // namespace
TEST_F(ObjectServiceTest, WithoutFetchRunEachBlockIsItsOwnRangedRead) {
  origin_->Set("run", Bytes(4 * kBlockSize, 20), "v1");
  ObjectInfo info = StatOk("run");
  ASSERT_TRUE(GetBlock("mem", info, 0).ok());
  EXPECT_EQ(origin_->read_calls(), 1);
  EXPECT_EQ(origin_->stream_calls(), 0);
  EXPECT_FALSE(service_->HasBlock("mem", info, 1));
}

TEST_F(ObjectServiceTest, FetchRunReadsTheFollowingBlocksWithOneStreamToTheEnd) {
  OpenService(1 << 20, /*fetch_run_bytes=*/16 * kBlockSize);
  std::string data = Bytes(6 * kBlockSize + 100, 21);  // a short last block
  origin_->Set("run", data, "v1");
  ObjectInfo info = StatOk("run");
  BlockSource source = BlockSource::kRam;
  Result<BlockRef> first = GetBlock("mem", info, 0, &source);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(source, BlockSource::kOrigin);
  EXPECT_EQ(BlockString(*first), data.substr(0, kBlockSize));
  // The rest of the run lands in the store without further calls.
  ASSERT_TRUE(WaitFor([&] { return service_->HasBlock("mem", info, 6); }));
  for (uint64_t i = 1; i < 7; ++i) {
    Result<BlockRef> b = GetBlock("mem", info, i, &source);
    ASSERT_TRUE(b.ok()) << i << ": " << b.status().ToString();
    EXPECT_EQ(source, BlockSource::kRam) << i;
    EXPECT_EQ(BlockString(*b), data.substr(i * kBlockSize, kBlockSize)) << i;
  }
  EXPECT_EQ(origin_->stream_calls(), 1);
  EXPECT_EQ(origin_->read_calls(), 0);
  EXPECT_EQ(origin_->last_stream(), std::make_pair(uint64_t{0}, kToEnd));  // a plain GET
  EXPECT_EQ(Metric("unicache_origin_bytes_total{origin=\"mem\"}"),
            static_cast<int64_t>(data.size()));
}

TEST_F(ObjectServiceTest, FetchRunIsBoundedAndStopsAtACachedBlock) {
  OpenService(1 << 20, /*fetch_run_bytes=*/4 * kBlockSize);
  std::string data = Bytes(10 * kBlockSize, 22);
  origin_->Set("run", data, "v1");
  ObjectInfo info = StatOk("run");
  ASSERT_TRUE(GetBlock("mem", info, 5).ok());  // run 5..8
  ASSERT_TRUE(WaitFor([&] { return service_->HasBlock("mem", info, 8); }));
  EXPECT_EQ(origin_->last_stream(), std::make_pair(5 * kBlockSize, 4 * kBlockSize));
  EXPECT_FALSE(service_->HasBlock("mem", info, 9));
  ASSERT_TRUE(GetBlock("mem", info, 3).ok());  // run 3..4: 5 is cached
  ASSERT_TRUE(WaitFor([&] { return service_->HasBlock("mem", info, 4); }));
  EXPECT_EQ(origin_->last_stream(), std::make_pair(3 * kBlockSize, 2 * kBlockSize));
  EXPECT_EQ(origin_->stream_calls(), 2);
}

TEST_F(ObjectServiceTest, ConcurrentReadersOfARunShareItsStream) {
  OpenService(1 << 20, /*fetch_run_bytes=*/8 * kBlockSize);
  std::string data = Bytes(8 * kBlockSize, 23);
  origin_->Set("run", data, "v1");
  ObjectInfo info = StatOk("run");
  origin_->CloseGate();
  std::vector<Result<BlockRef>> results(8, Result<BlockRef>(Internal("not run")));
  std::vector<std::thread> threads;
  threads.emplace_back([&] { results[0] = GetBlock("mem", info, 0); });
  // The run has claimed blocks 1..7 before its request reaches the origin.
  ASSERT_TRUE(WaitFor([&] { return origin_->reads_at_gate() == 1; }));
  for (uint64_t i = 1; i < 8; ++i) {
    threads.emplace_back([&, i] { results[i] = GetBlock("mem", info, i); });
  }
  ASSERT_TRUE(WaitFor([&] { return Metric("unicache_cache_misses_total") == 8; }));
  origin_->OpenGate();
  for (auto& t : threads) t.join();
  for (uint64_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
    EXPECT_EQ(BlockString(*results[i]), data.substr(i * kBlockSize, kBlockSize)) << i;
  }
  EXPECT_EQ(origin_->stream_calls(), 1);
  EXPECT_EQ(origin_->read_calls(), 0);
  EXPECT_EQ(Metric("unicache_singleflight_coalesced_total"), 7);
}

TEST_F(ObjectServiceTest, FetchRunFailingMidwayKeepsWholeBlocksOnlyAndTheNextReadRetries) {
  OpenService(1 << 20, /*fetch_run_bytes=*/8 * kBlockSize);
  std::string data = Bytes(8 * kBlockSize, 24);
  origin_->Set("run", data, "v1");
  ObjectInfo info = StatOk("run");
  origin_->FailStreamAfter(kBlockSize + kBlockSize / 2);
  Result<BlockRef> first = GetBlock("mem", info, 0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();  // published before the failure
  ASSERT_TRUE(WaitFor([&] { return Metric("unicache_origin_errors_total{origin=\"mem\"}") == 1; }));
  EXPECT_TRUE(service_->HasBlock("mem", info, 0));
  for (uint64_t i = 1; i < 8; ++i) EXPECT_FALSE(service_->HasBlock("mem", info, i)) << i;
  Result<BlockRef> second = GetBlock("mem", info, 1);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(BlockString(*second), data.substr(kBlockSize, kBlockSize));
  EXPECT_EQ(origin_->stream_calls(), 2);
}

TEST_F(ObjectServiceTest, FetchRunOfAChangedObjectIsPreconditionFailedAndDropsMetadata) {
  OpenService(1 << 20, /*fetch_run_bytes=*/8 * kBlockSize);
  origin_->Set("run", Bytes(4 * kBlockSize, 25), "v1");
  ObjectInfo info = StatOk("run");
  origin_->Set("run", Bytes(4 * kBlockSize, 26), "v2");
  Result<BlockRef> b = GetBlock("mem", info, 0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kPreconditionFailed);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_FALSE(service_->HasBlock("mem", info, i)) << i;
  int stats = origin_->stat_calls();
  EXPECT_EQ(StatOk("run").version, "v2");  // metadata was dropped: asked again
  EXPECT_EQ(origin_->stat_calls(), stats + 1);
}

TEST_F(ObjectServiceTest, OpenTakesMetadataAndTheFirstRunFromOneRequest) {
  OpenService(1 << 20, /*fetch_run_bytes=*/16 * kBlockSize);
  std::string data = Bytes(6 * kBlockSize + 100, 30);  // a short last block
  origin_->Set("obj", data, "v1");
  StatNote note;
  Result<ObjectInfo> info = Open("mem", "obj", &note);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(note.opened);
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(info->version, "v1");
  EXPECT_EQ(Metric("unicache_cache_misses_total"), 7);  // every block the open fetches
  ASSERT_TRUE(WaitFor([&] { return service_->HasBlock("mem", *info, 6); }));
  for (uint64_t i = 0; i < 7; ++i) {
    Result<BlockRef> b = GetBlock("mem", *info, i);
    ASSERT_TRUE(b.ok()) << i << ": " << b.status().ToString();
    EXPECT_EQ(BlockString(*b), data.substr(i * kBlockSize, kBlockSize)) << i;
  }
  EXPECT_EQ(origin_->open_calls(), 1);
  EXPECT_EQ(origin_->stat_calls(), 0);
  EXPECT_EQ(origin_->stream_calls() + origin_->read_calls(), 0);
  EXPECT_EQ(Metric("unicache_origin_requests_total{origin=\"mem\"}"), 1);
  EXPECT_EQ(Metric("unicache_origin_bytes_total{origin=\"mem\"}"),
            static_cast<int64_t>(data.size()));
  // The metadata is cached: opening again asks nothing.
  ASSERT_TRUE(Open("mem", "obj", &note).ok());
  EXPECT_FALSE(note.opened);
  EXPECT_EQ(origin_->open_calls(), 1);
}

TEST_F(ObjectServiceTest, FirstBlockOfAnOpenIsSharedWithItsReader) {
  OpenService(1 << 20, /*fetch_run_bytes=*/8 * kBlockSize);
  std::string data = Bytes(8 * kBlockSize, 31);
  origin_->Set("obj", data, "v1");
  Result<ObjectInfo> info = Open("mem", "obj");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  // Whether or not the run has published it yet, block 0 comes from the open's one request.
  BlockSource source = BlockSource::kOrigin;
  Result<BlockRef> first = GetBlock("mem", *info, 0, &source);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(BlockString(*first), data.substr(0, kBlockSize));
  EXPECT_NE(source, BlockSource::kOrigin);
  EXPECT_EQ(origin_->open_calls() + origin_->stream_calls() + origin_->read_calls(), 1);
}

TEST_F(ObjectServiceTest, OpenIsBoundedByTheFetchRun) {
  OpenService(1 << 20, /*fetch_run_bytes=*/4 * kBlockSize);
  origin_->Set("obj", Bytes(10 * kBlockSize, 32), "v1");
  Result<ObjectInfo> info = Open("mem", "obj");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return service_->HasBlock("mem", *info, 3); }));
  EXPECT_EQ(origin_->last_stream(), std::make_pair(uint64_t{0}, 4 * kBlockSize));
  EXPECT_FALSE(service_->HasBlock("mem", *info, 4));
}

TEST_F(ObjectServiceTest, OpenWithoutRunsIsAStat) {
  origin_->Set("obj", Bytes(3 * kBlockSize, 33), "v1");
  Result<ObjectInfo> info = Open("mem", "obj");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->version, "v1");
  EXPECT_EQ(origin_->stat_calls(), 1);
  EXPECT_EQ(origin_->open_calls(), 0);
  EXPECT_FALSE(service_->HasBlock("mem", *info, 0));
}

TEST_F(ObjectServiceTest, OpenOfAMissingObjectIsNotFoundAndNoOriginError) {
  OpenService(1 << 20, /*fetch_run_bytes=*/8 * kBlockSize);
  Result<ObjectInfo> info = Open("mem", "nope");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), StatusCode::kNotFound);
  EXPECT_LE(Metric("unicache_origin_errors_total{origin=\"mem\"}"), 0);
  EXPECT_EQ(Open("nosuch", "obj").status().code(), StatusCode::kNotFound);
}

TEST_F(ObjectServiceTest, OpenOfAnEmptyObjectReturnsItsMetadata) {
  OpenService(1 << 20, /*fetch_run_bytes=*/8 * kBlockSize);
  origin_->Set("empty", "", "v0");
  Result<ObjectInfo> info = Open("mem", "empty");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 0u);
  EXPECT_EQ(info->version, "v0");
  EXPECT_LE(Metric("unicache_origin_errors_total{origin=\"mem\"}"), 0);
}

TEST_F(ObjectServiceTest, OpenOfACachedObjectStopsAfterItsMetadata) {
  OpenService(1 << 20, /*fetch_run_bytes=*/4 * kBlockSize, /*metadata_ttl=*/1ms);
  origin_->Set("obj", Bytes(8 * kBlockSize, 34), "v1");
  Result<ObjectInfo> info = Open("mem", "obj");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return service_->HasBlock("mem", *info, 3); }));
  std::this_thread::sleep_for(5ms);  // the metadata expires; the blocks stay
  Result<ObjectInfo> again = Open("mem", "obj");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->version, "v1");
  EXPECT_EQ(origin_->open_calls(), 2);
  // Block 0 is cached: the second open stops after the metadata, fetches nothing, and is no
  // origin error.
  ASSERT_TRUE(WaitFor([&] { return origin_->reads_at_gate() == 0; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Metric("unicache_origin_bytes_total{origin=\"mem\"}"),
            static_cast<int64_t>(4 * kBlockSize));
  EXPECT_LE(Metric("unicache_origin_errors_total{origin=\"mem\"}"), 0);
  EXPECT_FALSE(service_->HasBlock("mem", *again, 4));
}

TEST_F(ObjectServiceTest, OpenFailingMidwayKeepsWholeBlocksAndTheNextReadRetries) {
  OpenService(1 << 20, /*fetch_run_bytes=*/8 * kBlockSize);
  std::string data = Bytes(8 * kBlockSize, 35);
  origin_->Set("obj", data, "v1");
  origin_->FailStreamAfter(kBlockSize + kBlockSize / 2);
  Result<ObjectInfo> info = Open("mem", "obj");
  ASSERT_TRUE(info.ok()) << info.status().ToString();  // the metadata came before the failure
  ASSERT_TRUE(WaitFor([&] { return Metric("unicache_origin_errors_total{origin=\"mem\"}") == 1; }));
  EXPECT_TRUE(service_->HasBlock("mem", *info, 0));
  for (uint64_t i = 1; i < 8; ++i) EXPECT_FALSE(service_->HasBlock("mem", *info, i)) << i;
  Result<BlockRef> second = GetBlock("mem", *info, 1);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(BlockString(*second), data.substr(kBlockSize, kBlockSize));
}

TEST_F(ObjectServiceTest, AnOutageServesTheCachedVersionStaleButNeverAGoneOrChangedOne) {
  OpenService(1 << 20, /*fetch_run_bytes=*/0, /*metadata_ttl=*/50ms);
  origin_->Set("a", Bytes(kBlockSize, 1), "v1");
  ASSERT_TRUE(Stat("mem", "a").ok());
  std::this_thread::sleep_for(80ms);  // past the TTL
  origin_->SetDown(Unavailable("connection refused"));
  StatNote note;
  Result<ObjectInfo> stale = Stat("mem", "a", false, &note);
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_TRUE(note.stale);
  EXPECT_EQ(stale->version, "v1");
  EXPECT_EQ(Metric("unicache_stale_served_total{origin=\"mem\"}"), 1);
  // Other errors are not outages: the caller sees them.
  origin_->SetDown(PermissionDenied("expired credentials"));
  EXPECT_EQ(Stat("mem", "a").status().code(), StatusCode::kPermissionDenied);
  // Back up with a new version: that one, never the stale one again.
  origin_->SetDown(Status::Ok());
  origin_->Set("a", Bytes(kBlockSize, 2), "v2");
  note = StatNote{};
  EXPECT_EQ(Stat("mem", "a", false, &note)->version, "v2");
  EXPECT_FALSE(note.stale);
  // An object the origin says is gone is not served stale in the next outage.
  origin_->Set("b", Bytes(10, 3), "v1");
  ASSERT_TRUE(Stat("mem", "b").ok());
  std::this_thread::sleep_for(80ms);
  ASSERT_TRUE(origin_->Remove("b"));
  EXPECT_EQ(Stat("mem", "b").status().code(), StatusCode::kNotFound);
  origin_->SetDown(DeadlineExceeded("timed out"));
  EXPECT_EQ(Stat("mem", "b").status().code(), StatusCode::kDeadlineExceeded);
}

TEST_F(ObjectServiceTest, StaleIfErrorZeroTurnsItOff) {
  OpenService(1 << 20, 0, 50ms, /*stale_if_error=*/0ms);
  origin_->Set("a", Bytes(kBlockSize, 1), "v1");
  ASSERT_TRUE(Stat("mem", "a").ok());
  std::this_thread::sleep_for(80ms);
  origin_->SetDown(Unavailable("connection refused"));
  EXPECT_EQ(Stat("mem", "a").status().code(), StatusCode::kUnavailable);
}

TEST_F(ObjectServiceTest, AnOutageDuringAnOpenServesStaleToo) {
  OpenService(1 << 20, /*fetch_run_bytes=*/8 * kBlockSize, /*metadata_ttl=*/50ms);
  origin_->Set("obj", Bytes(2 * kBlockSize, 4), "v1");
  ASSERT_TRUE(Open("mem", "obj").ok());
  std::this_thread::sleep_for(80ms);
  origin_->SetDown(Unavailable("connection refused"));
  StatNote note;
  Result<ObjectInfo> info = Open("mem", "obj", &note);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(note.stale);
  EXPECT_EQ(info->version, "v1");
}

}  // namespace unicache

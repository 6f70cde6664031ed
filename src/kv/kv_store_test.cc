#include "kv/kv_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace unicache {
namespace {

using std::chrono::milliseconds;

KvValue V(size_t n, char c = 'x') { return std::make_shared<const std::string>(n, c); }

struct FakeClock {
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
};

std::unique_ptr<KvStore> MakeStore(uint64_t quota, FakeClock* clock = nullptr,
                                   milliseconds ttl = milliseconds(0)) {
  KvStoreOptions o;
  o.namespaces.push_back(KvNamespaceConfig{"m", quota, ttl, 1});
  o.sweeper = false;
  if (clock) o.now = [clock] { return clock->t; };
  auto s = KvStore::Create(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

TEST(KvStoreTest, PutGetDeleteRoundTrip) {
  auto s = MakeStore(1 << 20);
  auto p = s->Put("m", "k1", V(100));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->created);
  auto g = s->Get("m", "k1");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->value->size(), 100u);
  EXPECT_EQ(g->etag, p->etag);
  EXPECT_TRUE(*s->Exists("m", "k1"));
  EXPECT_TRUE(*s->Delete("m", "k1"));
  EXPECT_EQ(s->Get("m", "k1").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*s->Delete("m", "k1"));
}

TEST(KvStoreTest, ValuesAreImmutableFirstWriterWins) {
  auto s = MakeStore(1 << 20);
  ASSERT_TRUE(s->Put("m", "k", V(10, 'a')).ok());
  auto again = s->Put("m", "k", V(10, 'b'));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ((*s->Get("m", "k")->value)[0], 'a');
}

TEST(KvStoreTest, BadInputIsRejectedAndNothingWritten) {
  auto s = MakeStore(100ull << 20);
  EXPECT_EQ(s->Put("nope", "k", V(1)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->Put("m", "", V(1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Put("m", std::string(2000, 'k'), V(1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Put("m", "big", V(kKvMaxValueBytes + 1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Stats()[0].keys, 0u);
}

TEST(KvStoreTest, QuotaEvictsAndOversizedValueFails) {
  auto s = MakeStore(1000);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(s->Put("m", "k" + std::to_string(i), V(100)).ok());
  auto st = s->Stats()[0];
  EXPECT_LE(st.bytes, 1000u);
  EXPECT_GT(st.evictions, 0u);
  EXPECT_EQ(s->Put("m", "huge", V(1001)).status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(*s->Exists("m", "huge"));
}

TEST(KvStoreTest, TtlExpiresValues) {
  FakeClock clock;
  auto s = MakeStore(1 << 20, &clock, milliseconds(1000));
  ASSERT_TRUE(s->Put("m", "default", V(1)).ok());
  ASSERT_TRUE(s->Put("m", "short", V(1), milliseconds(100)).ok());
  ASSERT_TRUE(s->Put("m", "forever", V(1), milliseconds(-1)).ok());
  clock.t += milliseconds(200);
  EXPECT_FALSE(*s->Exists("m", "short"));
  EXPECT_TRUE(*s->Exists("m", "default"));
  clock.t += milliseconds(1000);
  EXPECT_EQ(s->Sweep(), 2u);
  EXPECT_EQ(s->Get("m", "default").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(s->Get("m", "forever").ok());
}

TEST(KvStoreTest, PrefixMatchStopsAtFirstMiss) {
  auto s = MakeStore(1 << 20);
  for (const char* k : {"a", "b", "d"}) ASSERT_TRUE(s->Put("m", k, V(1)).ok());
  std::vector<std::string> keys{"a", "b", "c", "d"};
  EXPECT_EQ(*s->PrefixMatch("m", keys), 2u);
  std::vector<std::string> none{"z", "a"};
  EXPECT_EQ(*s->PrefixMatch("m", none), 0u);
  std::vector<std::string> empty;
  EXPECT_EQ(*s->PrefixMatch("m", empty), 0u);
}

TEST(KvStoreTest, LeaseHoldsAgainstEvictionUntilReleased) {
  auto s = MakeStore(1000);
  ASSERT_TRUE(s->Put("m", "p0", V(300)).ok());
  ASSERT_TRUE(s->Put("m", "p1", V(300)).ok());
  std::vector<std::string> keys{"p0", "p1"};
  EXPECT_EQ(*s->PrefixMatch("m", keys, "L1", milliseconds(10000)), 2u);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(s->Put("m", "f" + std::to_string(i), V(100)).ok());
  EXPECT_TRUE(*s->Exists("m", "p0"));
  EXPECT_TRUE(*s->Exists("m", "p1"));
  // Only 400 bytes are unpinned: a 500-byte value cannot fit.
  EXPECT_EQ(s->Put("m", "big", V(500)).status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(s->Release("L1"));
  EXPECT_FALSE(s->Release("L1"));
  // Unpinned, the old prefix can be evicted to make room.
  EXPECT_TRUE(s->Put("m", "big", V(900)).ok());
  EXPECT_FALSE(*s->Exists("m", "p0") && *s->Exists("m", "p1"));
}

TEST(KvStoreTest, LeaseExpiresAndDeleteOfLeasedKeyIsSafe) {
  FakeClock clock;
  auto s = MakeStore(1000, &clock);
  ASSERT_TRUE(s->Put("m", "p0", V(500)).ok());
  ASSERT_TRUE(s->Put("m", "p1", V(100)).ok());
  std::vector<std::string> keys{"p0", "p1"};
  ASSERT_EQ(*s->PrefixMatch("m", keys, "L", milliseconds(1000)), 2u);
  ASSERT_TRUE(*s->Delete("m", "p1"));
  ASSERT_TRUE(s->Put("m", "p1", V(100)).ok());  // a new value, not pinned by L
  clock.t += milliseconds(1500);
  s->Sweep();
  EXPECT_EQ(s->Stats()[0].pinned_bytes, 0u);
  EXPECT_EQ(s->Stats()[0].leases, 0u);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(s->Put("m", "f" + std::to_string(i), V(100)).ok());
  EXPECT_FALSE(*s->Exists("m", "p0"));
}

TEST(KvStoreTest, ConcurrentPutGetSeesWholeValuesOnly) {
  auto s = MakeStore(64 << 20);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop) {
      for (int i = 0; i < 100; ++i) {
        auto g = s->Get("m", "k" + std::to_string(i));
        if (!g.ok()) continue;
        const std::string& v = *g->value;
        if (v.size() != 4096 || v.find_first_not_of(v[0]) != std::string::npos) ++bad;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 100; ++i) {
        (void)s->Put("m", "k" + std::to_string(i), V(4096, static_cast<char>('a' + w)));
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(s->Stats()[0].keys, 100u);
}

TEST(KvStoreTest, CreateRejectsBadConfig) {
  KvStoreOptions o;
  o.namespaces.push_back(KvNamespaceConfig{"a", 100, {}, 1});
  o.namespaces.push_back(KvNamespaceConfig{"a", 100, {}, 1});
  EXPECT_FALSE(KvStore::Create(o).ok());
  o.namespaces.pop_back();
  o.ram_bytes = 50;
  EXPECT_FALSE(KvStore::Create(o).ok());
}

TEST(KvConfigTest, ParsesNamespaceSpecs) {
  auto ns = ParseKvNamespace("llama3=8GiB,ttl=1h,replicas=2");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(ns->name, "llama3");
  EXPECT_EQ(ns->quota_bytes, 8ull << 30);
  EXPECT_EQ(ns->default_ttl, std::chrono::hours(1));
  EXPECT_EQ(ns->replicas, 2u);
  EXPECT_TRUE(ParseKvNamespace("x=1MiB").ok());
  EXPECT_FALSE(ParseKvNamespace("x").ok());
  EXPECT_FALSE(ParseKvNamespace("x=0").ok());
  EXPECT_FALSE(ParseKvNamespace("bad/name=1MiB").ok());
  EXPECT_FALSE(ParseKvNamespace("x=1MiB,color=red").ok());
  EXPECT_FALSE(ParseKvNamespace("x=1MiB,replicas=99").ok());
}

}  // namespace
}  // namespace unicache

// The KV part of the C API against a real in-process node: over HTTP and over the shared-memory
// path, batches with per-item outcomes, prefix match with leases, and every error path.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "server/test_node.h"
#include "unicache/unicache.h"

namespace unicache {
namespace {

class KvCApiTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto node = TestNode::Start({"m=8MiB", "tiny=64KiB"});
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(node).value();
    socket_ = node_->kv_socket();
    const bool local = GetParam();
    ASSERT_EQ(uc_kv_connect(node_->address().c_str(), local ? socket_.c_str() : nullptr,
                            local ? 4 << 20 : 0, &kv_),
              UC_OK)
        << uc_last_error_message();
  }
  void TearDown() override { uc_kv_close(kv_); }
  // Returns a buffer for values: inside the shared region on the local path, else heap memory.
  char* Buffer(size_t offset) {
    void* base = nullptr;
    size_t size = 0;
    EXPECT_EQ(uc_kv_segment(kv_, &base, &size), UC_OK);
    if (GetParam()) {
      EXPECT_EQ(size, 4u << 20);
      return static_cast<char*>(base) + offset;
    }
    EXPECT_EQ(base, nullptr);
    if (heap_.empty()) heap_.resize(4 << 20);
    return heap_.data() + offset;
  }

  std::string socket_;
  std::unique_ptr<TestNode> node_;
  uc_kv* kv_ = nullptr;
  std::vector<char> heap_;
};

TEST_P(KvCApiTest, PutGetDelete) {
  char* v = Buffer(0);
  std::memset(v, 'x', 1000);
  ASSERT_EQ(uc_kv_put(kv_, "m", "k1", 2, v, 1000, 0), UC_OK) << uc_last_error_message();
  char* out = Buffer(1 << 20);
  size_t n = 0;
  ASSERT_EQ(uc_kv_get(kv_, "m", "k1", 2, out, 4096, nullptr, &n), UC_OK);
  EXPECT_EQ(n, 1000u);
  EXPECT_EQ(std::string(out, n), std::string(1000, 'x'));
  EXPECT_EQ(uc_kv_get(kv_, "m", "k1", 2, out, 10, nullptr, &n), UC_RESOURCE_EXHAUSTED);
  EXPECT_EQ(uc_kv_get(kv_, "m", "nope", 4, out, 4096, nullptr, &n), UC_NOT_FOUND);
  int existed = -1;
  ASSERT_EQ(uc_kv_delete(kv_, "m", "k1", 2, &existed), UC_OK);
  EXPECT_EQ(existed, 1);
  EXPECT_EQ(uc_kv_get(kv_, "m", "k1", 2, out, 4096, nullptr, &n), UC_NOT_FOUND);
}

TEST_P(KvCApiTest, BatchesKeepRequestOrderAndPerItemOutcomes) {
  const char* keys[] = {"a", "b", "c"};
  const size_t key_lens[] = {1, 1, 1};
  char* v = Buffer(0);
  for (int i = 0; i < 3; ++i) std::memset(v + i * 100, 'A' + i, 100);
  const void* values[] = {v, v + 100, v + 200};
  const size_t lens[] = {100, 100, 100};
  uc_code st[3];
  ASSERT_EQ(uc_kv_batch_put(kv_, "m", 2, reinterpret_cast<const void* const*>(keys), key_lens,
                            values, lens, 0, st),
            UC_OK);
  EXPECT_EQ(st[0], UC_OK);
  EXPECT_EQ(st[1], UC_OK);

  const char* ask[] = {"b", "c", "a"};
  char* out = Buffer(1 << 20);
  void* bufs[] = {out, out + 200, out + 400};
  const size_t caps[] = {200, 200, 50};
  size_t sizes[3];
  ASSERT_EQ(uc_kv_batch_get(kv_, "m", 3, reinterpret_cast<const void* const*>(ask), key_lens, bufs,
                            caps, nullptr, sizes, st),
            UC_OK)
      << uc_last_error_message();
  EXPECT_EQ(st[0], UC_OK);
  EXPECT_EQ(sizes[0], 100u);
  EXPECT_EQ(std::string(out, 100), std::string(100, 'B'));
  EXPECT_EQ(st[1], UC_NOT_FOUND);
  EXPECT_EQ(st[2], UC_RESOURCE_EXHAUSTED);  // 100 bytes do not fit in 50
  EXPECT_EQ(sizes[2], 100u);

  uint8_t present[3];
  ASSERT_EQ(uc_kv_batch_exists(kv_, "m", 3, reinterpret_cast<const void* const*>(keys), key_lens,
                               present),
            UC_OK);
  EXPECT_EQ(present[0], 1);
  EXPECT_EQ(present[1], 1);
  EXPECT_EQ(present[2], 0);
}

TEST_P(KvCApiTest, PrefixMatchWithLeaseAndRelease) {
  const char* keys[] = {"p0", "p1", "p2", "p3"};
  const size_t key_lens[] = {2, 2, 2, 2};
  char* v = Buffer(0);
  const void* values[] = {v, v, v, v};
  const size_t lens[] = {10, 10, 10, 10};
  uc_code st[4];
  ASSERT_EQ(uc_kv_batch_put(kv_, "m", 2, reinterpret_cast<const void* const*>(keys), key_lens,
                            values, lens, -1, st),
            UC_OK);
  size_t matched = 99;
  ASSERT_EQ(uc_kv_prefix_match(kv_, "m", 4, reinterpret_cast<const void* const*>(keys), key_lens, 0,
                               &matched, nullptr, 0),
            UC_OK);
  EXPECT_EQ(matched, 2u);
  char lease[64];
  ASSERT_EQ(uc_kv_prefix_match(kv_, "m", 4, reinterpret_cast<const void* const*>(keys), key_lens,
                               5000, &matched, lease, sizeof lease),
            UC_OK);
  EXPECT_EQ(matched, 2u);
  EXPECT_GT(std::strlen(lease), 0u);
  int released = -1;
  ASSERT_EQ(uc_kv_release(kv_, "m", lease, &released), UC_OK);
  EXPECT_EQ(released, 1);
  ASSERT_EQ(uc_kv_release(kv_, "m", lease, &released), UC_OK);
  EXPECT_EQ(released, 0);
  char small[2];
  EXPECT_EQ(uc_kv_prefix_match(kv_, "m", 4, reinterpret_cast<const void* const*>(keys), key_lens,
                               5000, &matched, small, sizeof small),
            UC_RESOURCE_EXHAUSTED);
}

TEST_P(KvCApiTest, BadInputIsRefusedWithAMessage) {
  size_t n = 0;
  char buf[16] = {};
  EXPECT_EQ(uc_kv_put(nullptr, "m", "k", 1, buf, 1, 0), UC_INVALID_ARGUMENT);
  EXPECT_EQ(uc_kv_put(kv_, "m", "k", 1, nullptr, 5, 0), UC_INVALID_ARGUMENT);
  EXPECT_STREQ(uc_last_error_message(), "null argument");
  EXPECT_EQ(uc_kv_put(kv_, "nope", "k", 1, buf, 1, 0), UC_NOT_FOUND);
  EXPECT_NE(std::string(uc_last_error_message()).find("nope"), std::string::npos);
  EXPECT_EQ(uc_kv_put(kv_, "m", "", 0, buf, 1, 0), UC_INVALID_ARGUMENT);
  EXPECT_EQ(uc_kv_get(kv_, "m", "k", 1, nullptr, 4, nullptr, &n), UC_INVALID_ARGUMENT);
  // A value over the namespace quota is refused and leaves nothing.
  char* big = Buffer(0);
  EXPECT_EQ(uc_kv_put(kv_, "tiny", "big", 3, big, 128 << 10, 0), UC_RESOURCE_EXHAUSTED);
  EXPECT_EQ(uc_kv_get(kv_, "tiny", "big", 3, buf, sizeof buf, nullptr, &n), UC_NOT_FOUND)
      << uc_last_error_message();
  size_t matched = 0;
  EXPECT_EQ(uc_kv_prefix_match(kv_, "m", 0, nullptr, nullptr, -5, &matched, nullptr, 0),
            UC_INVALID_ARGUMENT);
  EXPECT_EQ(uc_kv_batch_exists(kv_, "m", 1, nullptr, nullptr, nullptr), UC_INVALID_ARGUMENT);
}

TEST(KvCApiConnectTest, LocalSocketNeedsASegmentAndAListener) {
  uc_kv* kv = nullptr;
  EXPECT_EQ(uc_kv_connect("127.0.0.1:1", "/tmp/sock", 0, &kv), UC_INVALID_ARGUMENT);
  EXPECT_EQ(uc_kv_connect("127.0.0.1:1", "/nonexistent/unicache/kv.sock", 4096, &kv),
            UC_UNAVAILABLE);
  EXPECT_EQ(kv, nullptr);
  EXPECT_EQ(uc_kv_connect(nullptr, nullptr, 0, &kv), UC_INVALID_ARGUMENT);
}

INSTANTIATE_TEST_SUITE_P(Transports, KvCApiTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "SharedMemory" : "Http"; });

}  // namespace
}  // namespace unicache

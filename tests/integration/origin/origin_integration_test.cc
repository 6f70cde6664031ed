// The Azure Blob and S3 origins against real servers (Azurite, s3rver) on 127.0.0.1, directly and
// through a fault-injecting proxy. Skips, saying why, only when node/npm are not installed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/http_client.h"
#include "fault_proxy.h"
#include "origin/azure_auth.h"
#include "origin/azure_blob_origin.h"
#include "origin/retrying_origin.h"
#include "origin/s3_origin.h"
#include "test_servers.h"

namespace unicache {
namespace {

using testing::FaultProxy;
using testing::ServerProcess;
using Clock = std::chrono::steady_clock;

constexpr char kBucket[] = "unicache-test";
constexpr char kContainer[] = "data";

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

// Returns deterministic, object-specific bytes.
std::string Bytes(const std::string& name, size_t size) {
  std::string out(size, '\0');
  uint64_t x = std::hash<std::string>{}(name) | 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

// The dataset: nested paths, an empty object, sizes around the 64 KiB direct-to-buffer threshold.
std::map<std::string, std::string> Dataset() {
  std::map<std::string, std::string> d;
  const size_t sizes[] = {0, 1, 17, 4096, 65535, 65536, 200000, 1 << 20};
  for (int i = 0; i < 16; ++i) {
    std::string name = "ds/" +
                       std::string(i % 3 == 0   ? "train/"
                                   : i % 3 == 1 ? "val/"
                                                : "") +
                       "shard " + std::to_string(i) + ".bin";
    d[name] = Bytes(name, sizes[i % 8]);
  }
  return d;
}

RetryOptions TestRetryOptions() {
  RetryOptions o;
  o.initial_backoff = std::chrono::milliseconds(20);
  o.max_backoff = std::chrono::milliseconds(500);
  o.max_attempts = 5;
  o.call_deadline = std::chrono::milliseconds(20000);
  return o;
}

class OriginIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::Run("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") != 0) {
      skip_reason_ = "node/npm not installed: cannot run Azurite and s3rver";
      return;
    }
    std::string root = UNICACHE_SOURCE_DIR;
    if (testing::Run("bash '" + root + "/scripts/install-test-servers.sh' >&2") != 0) {
      setup_error_ = "scripts/install-test-servers.sh failed";
      return;
    }
    std::string bin = root + "/.tools/node/node_modules/.bin/";
    tmp_ = testing::MakeTempDir("origin-it");
    azurite_port_ = testing::FreePort();
    azurite_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{bin + "azurite-blob", "--blobHost", "127.0.0.1", "--blobPort",
                                 std::to_string(azurite_port_), "--location", tmp_ + "/azurite",
                                 "--skipApiVersionCheck", "--loose", "--silent"},
        std::vector<std::string>{}, tmp_ + "/azurite.log");
    s3_port_ = testing::FreePort();
    s3rver_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{bin + "s3rver", "--directory", tmp_ + "/s3rver", "--address",
                                 "127.0.0.1", "--port", std::to_string(s3_port_), "--silent",
                                 "--configure-bucket", kBucket},
        std::vector<std::string>{"NODE_OPTIONS=--openssl-legacy-provider"}, tmp_ + "/s3rver.log");
    if (!testing::WaitForPort(azurite_port_, 30000) || !testing::WaitForPort(s3_port_, 30000)) {
      setup_error_ = "Azurite or s3rver did not start; logs in " + tmp_;
    }
  }

  static void TearDownTestSuite() {
    azurite_.reset();
    s3rver_.reset();
    if (!tmp_.empty() && setup_error_.empty()) testing::Run("rm -rf '" + tmp_ + "'");
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  static std::string AzureEndpoint(int port) {
    return "http://127.0.0.1:" + std::to_string(port) + "/devstoreaccount1";
  }

  static EnvLookup AzureEnv(int port) {
    return MapEnv({{"AZURE_STORAGE_CONNECTION_STRING",
                    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" +
                        std::string(kAzuriteKey) + ";BlobEndpoint=" + AzureEndpoint(port)}});
  }

  static std::unique_ptr<Origin> Azure(int port, std::string prefix = "") {
    auto o = OpenAzureBlobOrigin("azure://devstoreaccount1/" + std::string(kContainer) + prefix,
                                 AzureEnv(port));
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return WrapWithRetries(std::move(o).value(), TestRetryOptions());
  }

  static std::unique_ptr<Origin> S3(int port, std::string prefix = "") {
    auto o = OpenS3Origin(
        "s3://" + std::string(kBucket) + prefix +
            "?endpoint=http://127.0.0.1:" + std::to_string(port) + "&region=us-east-1",
        MapEnv({{"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", "S3RVER"}}));
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return WrapWithRetries(std::move(o).value(), TestRetryOptions());
  }

  // Creates the Azure container with a Shared Key signed request (idempotent).
  static void CreateContainer() {
    auto creds = AzureCredentialsFromEnv("devstoreaccount1", AzureEnv(azurite_port_));
    ASSERT_TRUE(creds.ok());
    AzureRequest req;
    req.method = "PUT";
    req.path = "/" + std::string(kContainer);
    req.query = {{"restype", "container"}};
    auto http = BuildAzureHttpRequest(*creds, AzureEndpoint(azurite_port_), req,
                                      std::chrono::system_clock::now());
    ASSERT_TRUE(http.ok());
    HttpClient client;
    auto resp = client.Send(*http);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    ASSERT_TRUE(resp->status == 201 || resp->status == 409) << resp->status << " " << resp->body;
  }

  static void Upload(Origin& origin, const std::map<std::string, std::string>& data) {
    for (const auto& [path, bytes] : data) {
      auto info = origin.Write(path, std::as_bytes(std::span(bytes.data(), bytes.size())));
      ASSERT_TRUE(info.ok()) << path << ": " << info.status().ToString();
      ASSERT_EQ(info->size, bytes.size());
      ASSERT_FALSE(info->version.empty());
    }
  }

  // Reads every object back through `origin` (listing with pagination, Stat, ranged reads) and
  // compares it with `data`.
  // `empty_range_broken`: s3rver answers a ranged GET of an empty object with a bad 206 (real S3
  // answers 416), so such reads are skipped there.
  static void VerifyDataset(Origin& origin, const std::map<std::string, std::string>& data,
                            bool empty_range_broken = false) {
    std::map<std::string, ObjectInfo> listed;
    ListOptions opts;
    opts.prefix = "ds/";
    opts.max_keys = 5;
    int pages = 0;
    do {
      auto page = origin.List(opts);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      ++pages;
      ASSERT_LE(page->objects.size(), 5u);
      for (auto& o : page->objects) listed[o.path] = o;
      opts.token = page->next_token;
    } while (!opts.token.empty() && pages < 100);
    EXPECT_GE(pages, 4);
    ASSERT_EQ(listed.size(), data.size());
    for (const auto& [path, bytes] : data) {
      ASSERT_TRUE(listed.count(path)) << path;
      auto info = origin.Stat(path);
      ASSERT_TRUE(info.ok()) << path << ": " << info.status().ToString();
      EXPECT_EQ(info->size, bytes.size()) << path;
      EXPECT_EQ(listed[path].size, bytes.size()) << path;
      EXPECT_EQ(listed[path].version, info->version) << path;
      if (bytes.empty() && empty_range_broken) continue;
      // Read in 150000-byte ranges; the last one is short.
      std::string got;
      std::vector<std::byte> buf(150000);
      for (uint64_t off = 0;; off += buf.size()) {
        auto n = origin.Read(path, info->version, off, buf);
        ASSERT_TRUE(n.ok()) << path << "@" << off << ": " << n.status().ToString();
        got.append(reinterpret_cast<const char*>(buf.data()), *n);
        if (*n < buf.size()) break;
      }
      EXPECT_TRUE(got == bytes) << path << " differs (" << got.size() << " vs " << bytes.size()
                                << ")";
      if (bytes.size() > 20) {
        std::vector<std::byte> small(7);
        auto n = origin.Read(path, info->version, 13, small);
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        ASSERT_EQ(*n, 7u);
        EXPECT_EQ(std::memcmp(small.data(), bytes.data() + 13, 7), 0);
      }
    }
  }

  static void CheckSemantics(Origin& origin) {
    // One directory level with a delimiter.
    ListOptions opts;
    opts.prefix = "ds/";
    opts.delimiter = "/";
    auto level = origin.List(opts);
    ASSERT_TRUE(level.ok()) << level.status().ToString();
    std::set<std::string> prefixes(level->prefixes.begin(), level->prefixes.end());
    EXPECT_EQ(prefixes, (std::set<std::string>{"ds/train/", "ds/val/"}));
    for (auto& o : level->objects) EXPECT_EQ(o.path.find('/', 3), std::string::npos) << o.path;

    EXPECT_EQ(origin.Stat("ds/missing.bin").status().code(), StatusCode::kNotFound);

    // A changed object fails reads pinned to its old version.
    std::string path = "other/overwritten.bin";
    std::string v1 = Bytes("v1", 1000), v2 = Bytes("v2", 1200);
    auto w1 = origin.Write(path, std::as_bytes(std::span(v1.data(), v1.size())));
    ASSERT_TRUE(w1.ok()) << w1.status().ToString();
    auto w2 = origin.Write(path, std::as_bytes(std::span(v2.data(), v2.size())));
    ASSERT_TRUE(w2.ok()) << w2.status().ToString();
    EXPECT_NE(w1->version, w2->version);
    std::vector<std::byte> buf(100);
    EXPECT_EQ(origin.Read(path, w1->version, 0, buf).status().code(),
              StatusCode::kPreconditionFailed);
    auto n = origin.Read(path, w2->version, 0, buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(std::memcmp(buf.data(), v2.data(), 100), 0);
    // Reading at the end returns 0 bytes.
    auto end = origin.Read(path, w2->version, 1200, buf);
    ASSERT_TRUE(end.ok()) << end.status().ToString();
    EXPECT_EQ(*end, 0u);
  }

  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  static inline std::string tmp_;
  static inline int azurite_port_ = 0;
  static inline int s3_port_ = 0;
  static inline std::unique_ptr<ServerProcess> azurite_;
  static inline std::unique_ptr<ServerProcess> s3rver_;
};

TEST_F(OriginIntegrationTest, AzureBlobAgainstAzurite) {
  CreateContainer();
  auto origin = Azure(azurite_port_);
  auto data = Dataset();
  Upload(*origin, data);
  VerifyDataset(*origin, data);
  CheckSemantics(*origin);
  // A prefix in the URI roots the origin there.
  auto rooted = Azure(azurite_port_, "/ds/train");
  auto info = rooted->Stat("shard 0.bin");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, data["ds/train/shard 0.bin"].size());
}

TEST_F(OriginIntegrationTest, AzureBadKeyIsPermissionDeniedWithoutSecrets) {
  CreateContainer();
  auto o = OpenAzureBlobOrigin(
      "azure://devstoreaccount1/data",
      MapEnv({{"AZURE_STORAGE_CONNECTION_STRING",
               "AccountName=devstoreaccount1;AccountKey=c2VjcmV0c2VjcmV0;BlobEndpoint=" +
                   AzureEndpoint(azurite_port_)}}));
  ASSERT_TRUE(o.ok());
  auto r = (*o)->Stat("ds/shard 1.bin");
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(r.status().message().find("c2VjcmV0c2VjcmV0"), std::string::npos);
}

TEST_F(OriginIntegrationTest, S3AgainstS3rver) {
  auto origin = S3(s3_port_);
  auto data = Dataset();
  Upload(*origin, data);
  VerifyDataset(*origin, data, /*empty_range_broken=*/true);
  CheckSemantics(*origin);
  auto rooted = S3(s3_port_, "/ds/val");
  auto info = rooted->Stat("shard 1.bin");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, data["ds/val/shard 1.bin"].size());
}

TEST_F(OriginIntegrationTest, ThrottledAndFlakyOriginsStillYieldCorrectBytes) {
  CreateContainer();
  auto data = Dataset();
  Upload(*Azure(azurite_port_), data);
  Upload(*S3(s3_port_), data);
  {
    FaultProxy proxy(azurite_port_, /*throttle=*/2, /*drop=*/2, /*retry_after_s=*/1);
    auto start = Clock::now();
    auto origin = Azure(proxy.port());
    VerifyDataset(*origin, data);
    EXPECT_EQ(proxy.faults(), 4);
    EXPECT_GE(Clock::now() - start, std::chrono::seconds(1));  // Retry-After was honoured
  }
  {
    FaultProxy proxy(s3_port_, /*throttle=*/1, /*drop=*/3, /*retry_after_s=*/0);
    auto origin = S3(proxy.port());
    VerifyDataset(*origin, data, /*empty_range_broken=*/true);
    EXPECT_EQ(proxy.faults(), 4);
  }
}

TEST_F(OriginIntegrationTest, DeadOriginFailsFastWithAClearError) {
  int dead = testing::FreePort();  // nothing listens there
  for (auto* make : {&OriginIntegrationTest::Azure, &OriginIntegrationTest::S3}) {
    auto origin = make(dead, "");
    auto start = Clock::now();
    auto r = origin->Stat("ds/shard 1.bin");
    auto took = Clock::now() - start;
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
    EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos) << r.status().ToString();
    EXPECT_NE(r.status().message().find("attempts"), std::string::npos) << r.status().ToString();
    EXPECT_LT(took, std::chrono::seconds(5));
  }
}

}  // namespace
}  // namespace unicache

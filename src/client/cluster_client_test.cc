#include "client/cluster_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "client/block_span.h"
#include "client/fake_transport.h"
#include "common/hash.h"

namespace unicache {
namespace {

constexpr uint64_t kBlock = 1024;

std::string MembersJson(const std::vector<std::string>& addresses, size_t replicas = 1,
                        const std::string& rules = "") {
  std::string json = "{\"version\":1,\"members\":[";
  for (size_t i = 0; i < addresses.size(); ++i) {
    json += (i ? "," : "") + std::string("{\"id\":\"") + addresses[i] + "\",\"address\":\"" +
            addresses[i] + "\"}";
  }
  return json + "],\"block_size\":" + std::to_string(kBlock) +
         ",\"replicas\":" + std::to_string(replicas) + ",\"replica_rules\":[" + rules + "]}";
}

// Three in-memory nodes serving one object "data/f" of `size` bytes at version "v1".
class FakeCluster {
 public:
  explicit FakeCluster(size_t size, size_t replicas = 1, std::string rules = "")
      : transport(std::make_unique<FakeTransport>()) {
    for (int i = 0; i < static_cast<int>(size); ++i) data.push_back(static_cast<char>(i * 7));
    addresses = {"n1:1", "n2:2", "n3:3"};
    for (const std::string& a : addresses) {
      transport->Serve(a, [this, replicas, rules](const HttpRequest& req) {
        return Handle(req, replicas, rules);
      });
    }
  }

  HttpResponse Handle(const HttpRequest& req, size_t replicas, const std::string& rules) {
    HttpResponse resp;
    if (req.url.ends_with("/v1/members")) {
      resp.status = 200;
      resp.body = MembersJson(addresses, replicas, rules);
      return resp;
    }
    if (req.url.find("/v1/objects/data/f") == std::string::npos) {
      resp.status = 404;
      return resp;
    }
    resp.headers["etag"] = "\"" + version + "\"";
    if (req.method == "HEAD") {
      resp.status = 200;
      resp.headers["content-length"] = std::to_string(data.size());
      return resp;
    }
    uint64_t from = 0, to = data.size() - 1;
    for (const auto& [name, value] : req.headers) {
      if (name == "If-Match" && value != "\"" + version + "\"") {
        resp.status = 412;
        return resp;
      }
      if (name == "Range") std::sscanf(value.c_str(), "bytes=%lu-%lu", &from, &to);
    }
    ++range_requests;
    resp.status = 206;
    resp.body = data.substr(from, to - from + 1);
    resp.headers["content-length"] = std::to_string(resp.body.size());
    resp.headers["content-range"] = "bytes " + std::to_string(from) + "-" +
                                    std::to_string(from + resp.body.size() - 1) + "/" +
                                    std::to_string(data.size());
    return resp;
  }

  Result<std::unique_ptr<ClusterClient>> Connect(size_t readahead = 4) {
    ClientOptions options;
    options.peers = "n2:2";
    options.parallelism = 4;
    options.readahead_blocks = readahead;
    options.membership_refresh = std::chrono::milliseconds(0);  // no background thread
    // The client owns a forwarding transport; the test keeps control of `transport`.
    struct Forward : Transport {
      FakeTransport* t;
      Result<HttpResponse> Send(const HttpRequest& r) override { return t->Send(r); }
    };
    auto fwd = std::make_unique<Forward>();
    fwd->t = transport.get();
    return ClusterClient::Create(options, std::move(fwd), "client-a");
  }

  std::string data;
  std::string version = "v1";
  std::vector<std::string> addresses;
  std::unique_ptr<FakeTransport> transport;
  std::atomic<int> range_requests{0};
};

TEST(SplitBlocksTest, SplitsAtBlockBoundariesAndClampsToTheEnd) {
  auto spans = SplitBlocks(1000, 3000, 2500, kBlock);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].index, 0u);
  EXPECT_EQ(spans[0].length, 24u);
  EXPECT_EQ(spans[1].object_offset, 1024u);
  EXPECT_EQ(spans[1].dst_offset, 24u);
  EXPECT_EQ(spans[1].length, 1024u);
  EXPECT_EQ(spans[2].length, 2500u - 2048u);
  EXPECT_TRUE(SplitBlocks(2500, 10, 2500, kBlock).empty());
  EXPECT_TRUE(SplitBlocks(0, 0, 2500, kBlock).empty());
  EXPECT_EQ(SplitBlocks(0, 1024, 4096, kBlock).size(), 1u);
}

TEST(ClusterClientTest, ReadsEveryBlockFromItsOwnerInParallel) {
  FakeCluster cluster(10 * kBlock + 17);
  auto client = cluster.Connect();
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto stat = (*client)->Stat("data", "f");
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_EQ(stat->size, cluster.data.size());
  EXPECT_EQ(stat->version, "v1");
  EXPECT_EQ((*client)->block_size(), kBlock);

  cluster.transport->ClearCalls();
  std::string out(cluster.data.size() + 100, '\0');
  auto n = (*client)->Read("data", *stat, 100, std::as_writable_bytes(std::span(out)));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, cluster.data.size() - 100);
  EXPECT_EQ(out.substr(0, *n), cluster.data.substr(100));
  auto info = (*client)->info();
  std::multiset<std::string> want, got;
  for (uint64_t i = 0; i <= 10; ++i) {
    want.insert(info->placement->Owner(BlockKey("data", "f", "v1", i))->address);
  }
  for (const std::string& a : cluster.transport->Calls()) got.insert(a);
  EXPECT_EQ(got, want);
}

TEST(ClusterClientTest, FailsOverToTheNextOwnerInRendezvousOrder) {
  FakeCluster cluster(kBlock);
  auto client = cluster.Connect();
  ASSERT_TRUE(client.ok());
  auto stat = (*client)->Stat("data", "f");
  ASSERT_TRUE(stat.ok());
  auto ranked = (*client)->info()->placement->Ranked(BlockKey("data", "f", "v1", 0), 3, 0);
  cluster.transport->SetDown(ranked[0]->address, true);
  cluster.transport->SetDown(ranked[1]->address, true);
  cluster.transport->ClearCalls();
  std::string out(kBlock, '\0');
  auto n = (*client)->Read("data", *stat, 0, std::as_writable_bytes(std::span(out)));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(out, cluster.data);
  EXPECT_EQ(cluster.transport->Calls(),
            (std::vector<std::string>{ranked[0]->address, ranked[1]->address, ranked[2]->address}));
  // The failed members are now marked down: the next read goes to the live one first.
  cluster.transport->ClearCalls();
  ASSERT_TRUE((*client)->Read("data", *stat, 0, std::as_writable_bytes(std::span(out))).ok());
  EXPECT_EQ(cluster.transport->Calls().front(), ranked[2]->address);
  // Nobody left: Unavailable.
  cluster.transport->SetDown(ranked[2]->address, true);
  auto failed = (*client)->Read("data", *stat, 0, std::as_writable_bytes(std::span(out)));
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
}

TEST(ClusterClientTest, AnAnswerToAnotherQuestionIsNeverData) {
  FakeCluster cluster(5 * kBlock);
  auto client = cluster.Connect();
  ASSERT_TRUE(client.ok());
  auto stat = (*client)->Stat("data", "f");
  ASSERT_TRUE(stat.ok());
  // n1 answers every read with the object's first bytes, whatever range was asked for (a stray
  // answer on a shared connection looks like this); n3 states another version.
  const auto honest = [&](const HttpRequest& req) { return cluster.Handle(req, 1, ""); };
  cluster.transport->Serve("n1:1", [&](const HttpRequest& req) {
    HttpRequest first = req;
    for (auto& [name, value] : first.headers) {
      if (name == "Range") value = "bytes=0-" + std::to_string(kBlock - 1);
    }
    return honest(req.method == "HEAD" ? req : first);
  });
  cluster.transport->Serve("n3:3", [&](const HttpRequest& req) {
    HttpResponse r = honest(req);
    r.headers["etag"] = "\"v0\"";
    return r;
  });
  std::string out(5 * kBlock, '\0');
  auto n = (*client)->Read("data", *stat, 0, std::as_writable_bytes(std::span(out)));
  // Blocks owned by n1 or n3 fail over to the next owner: every byte is the object's.
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(out, cluster.data);
  // With only the liars left, the read fails as a transport error: it never returns their bytes.
  cluster.transport->SetDown("n2:2", true);
  std::string again(5 * kBlock, '\0');
  auto failed = (*client)->Read("data", *stat, 0, std::as_writable_bytes(std::span(again)));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(failed.status().message().find("not the one asked for"), std::string::npos);
}

TEST(ClusterClientTest, MalformedNodeAnswersAreErrorsNotExceptions) {
  FakeCluster cluster(kBlock);
  auto client = cluster.Connect();
  ASSERT_TRUE(client.ok());
  for (const char* body : {"{\"objects\":[{\"path\":7}]}", "{\"prefixes\":[1,2]}", "[]", "not json",
                           "{\"objects\":{\"size\":\"big\"}}"}) {
    for (const std::string& a : cluster.addresses) {
      cluster.transport->Serve(a, [body](const HttpRequest&) {
        HttpResponse r;
        r.status = 200;
        r.body = body;
        return r;
      });
    }
    auto listed = (*client)->List("data", "", "/", "", 10);
    ASSERT_FALSE(listed.ok()) << body;
    EXPECT_EQ(listed.status().code(), StatusCode::kInvalidArgument) << body;
    auto written = (*client)->Write("data", "x", {});
    EXPECT_FALSE(written.ok()) << body;
  }
}

TEST(ClusterClientTest, PreconditionFailedPropagates) {
  FakeCluster cluster(5 * kBlock);
  auto client = cluster.Connect();
  ASSERT_TRUE(client.ok());
  auto stat = (*client)->Stat("data", "f");
  ASSERT_TRUE(stat.ok());
  cluster.version = "v2";
  std::string out(5 * kBlock, '\0');
  auto n = (*client)->Read("data", *stat, 0, std::as_writable_bytes(std::span(out)));
  EXPECT_EQ(n.status().code(), StatusCode::kPreconditionFailed);
  EXPECT_EQ((*client)->Stat("data", "nope").status().code(), StatusCode::kNotFound);
}

TEST(ObjectReaderTest, SequentialReadsPrefetchAndRandomReadsDoNot) {
  FakeCluster cluster(32 * kBlock);
  auto client = cluster.Connect(/*readahead=*/4);
  ASSERT_TRUE(client.ok());
  auto stat = (*client)->Stat("data", "f");
  ASSERT_TRUE(stat.ok());

  // Random access: exactly one request per read, no readahead.
  auto random = (*client)->Open("data", *stat);
  std::string buf(100, '\0');
  for (uint64_t off : {20 * kBlock, 3 * kBlock + 5, 11 * kBlock, 27 * kBlock + 9}) {
    auto n = random->ReadAt(off, std::as_writable_bytes(std::span(buf)));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(buf, cluster.data.substr(off, 100));
  }
  EXPECT_EQ(cluster.range_requests.load(), 4);

  // Sequential reads of 256 bytes: after the second read whole blocks are prefetched, so the
  // reader needs far fewer requests than reads and every byte is right.
  cluster.range_requests = 0;
  auto seq = (*client)->Open("data", *stat);
  std::string all, chunk(256, '\0');
  for (uint64_t off = 0; off < 8 * kBlock; off += chunk.size()) {
    auto n = seq->ReadAt(off, std::as_writable_bytes(std::span(chunk)));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    all += chunk.substr(0, *n);
  }
  EXPECT_EQ(all, cluster.data.substr(0, 8 * kBlock));
  EXPECT_LE(cluster.range_requests.load(), 2 + 8 + 4);  // 2 direct reads, blocks, readahead
  EXPECT_EQ(seq->ReadAt(32 * kBlock, std::as_writable_bytes(std::span(chunk))).value(), 0u);
}

TEST(ClusterClientTest, ConnectFailsWhenNoNodeAnswers) {
  ClientOptions options;
  options.peers = "nowhere:1";
  auto client = ClusterClient::Create(options, std::make_unique<FakeTransport>());
  EXPECT_EQ(client.status().code(), StatusCode::kUnavailable);
  options.peers.clear();
  EXPECT_EQ(ClusterClient::Create(options, std::make_unique<FakeTransport>()).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace unicache

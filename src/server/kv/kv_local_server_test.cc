// The KV shared-memory path end to end: a real Node with its Unix socket, and KvClient (or raw
// frames) on the client side.
#include "server/kv/kv_local_server.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "kv/local_channel.h"
#include "server/test_node.h"
#include "unicache/kv.h"

namespace unicache {
namespace {

namespace fs = std::filesystem;

class KvLocalServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto node = TestNode::Start({"m=16MiB"});
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(node).value();
    socket_ = node_->kv_socket();
  }
  std::unique_ptr<KvClient> Client(size_t segment_bytes = 8 << 20) {
    KvClientOptions o;
    o.peers = node_->address();
    o.local_socket = socket_;
    o.segment_bytes = segment_bytes;
    auto c = KvClient::Connect(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  // Returns a connected raw socket (no segment registered).
  int RawConnect() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_.data(), socket_.size());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  }
  // Sends `frame` and reads one answer frame; "" when the node closed the connection.
  static std::string RawCall(int fd, const std::string& frame) {
    EXPECT_EQ(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(frame.size()));
    char head[4];
    if (::recv(fd, head, 4, MSG_WAITALL) != 4) return "";
    uint32_t len = 0;
    std::memcpy(&len, head, 4);
    std::string payload(len, '\0');
    if (::recv(fd, payload.data(), len, MSG_WAITALL) != static_cast<ssize_t>(len)) return "";
    return payload;
  }

  std::string socket_;
  std::unique_ptr<TestNode> node_;
};

std::span<std::byte> Region(KvClient& c, size_t offset, size_t n) {
  return c.segment().subspan(offset, n);
}

TEST_F(KvLocalServerTest, AForkedChildDialsItsOwnChannel) {
  auto c = Client();
  ASSERT_NE(c, nullptr);
  // Values whose bytes say which key they belong to; the parent has used the channel.
  constexpr int kKeys = 8;
  for (int k = 0; k < kKeys; ++k) {
    auto src = Region(*c, static_cast<size_t>(k) * 4096, 4096);
    for (auto& b : src) b = static_cast<std::byte>(k + 1);
    ASSERT_TRUE(c->Put("m", "fork-" + std::to_string(k), src).ok());
  }
  std::vector<pid_t> pids;
  for (int child = 0; child < 4; ++child) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Each child reads into its own part of the shared region (parent and child share it).
      bool ok = true;
      for (int round = 0; round < 20 && ok; ++round) {
        const int k = (child + round) % kKeys;
        auto dst = Region(*c, (1 << 20) + static_cast<size_t>(child) * 8192, 4096);
        Result<size_t> n = c->Get("m", "fork-" + std::to_string(k), dst);
        ok = n.ok() && *n == 4096;
        for (size_t i = 0; ok && i < dst.size(); ++i) ok = dst[i] == static_cast<std::byte>(k + 1);
      }
      ::_exit(ok ? 0 : 1);
    }
    pids.push_back(pid);
  }
  // The parent keeps using its own channel meanwhile.
  for (int round = 0; round < 20; ++round) {
    auto dst = Region(*c, 2 << 20, 4096);
    Result<size_t> n = c->Get("m", "fork-3", dst);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(dst[0], std::byte{4});
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid;
  }
}

TEST_F(KvLocalServerTest, PutAndGetThroughSharedMemory) {
  auto c = Client();
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->segment().size(), 8u << 20);
  auto src = Region(*c, 0, 1 << 20);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::byte>(i * 7 + 3);
  ASSERT_TRUE(c->Put("m", "key-1", src).ok());
  auto dst = Region(*c, 4 << 20, 2 << 20);
  Result<size_t> n = c->Get("m", "key-1", dst);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u << 20);
  EXPECT_EQ(std::memcmp(dst.data(), src.data(), src.size()), 0);
  // The same value over HTTP: one store, two paths.
  Result<std::string> http = c->Get("m", "key-1");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(std::memcmp(http->data(), src.data(), src.size()), 0);
  EXPECT_EQ(c->Get("m", "absent", dst).status().code(), StatusCode::kNotFound);
}

TEST_F(KvLocalServerTest, BatchSemanticsAndTooSmallBuffers) {
  auto c = Client();
  ASSERT_NE(c, nullptr);
  std::vector<KvPutSpec> puts;
  for (int i = 0; i < 4; ++i) {
    auto v = Region(*c, static_cast<size_t>(i) * 4096, 1000 + i);
    std::memset(v.data(), 'a' + i, v.size());
    puts.push_back(
        KvPutSpec{i == 2 ? std::string_view() : std::string_view("k0k1k2k3").substr(2 * i, 2), v});
  }
  Result<std::vector<Status>> put = c->BatchPut("m", puts);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE((*put)[0].ok());
  EXPECT_EQ((*put)[2].code(), StatusCode::kInvalidArgument);  // empty key
  std::vector<std::string> keys = {"k0", "k1", "missing", "k3"};
  std::vector<std::span<std::byte>> dsts = {Region(*c, 1 << 20, 4096), Region(*c, 2 << 20, 10),
                                            Region(*c, 3 << 20, 4096), Region(*c, 4 << 20, 4096)};
  Result<std::vector<KvGetOutcome>> got = c->BatchGet("m", keys, dsts);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE((*got)[0].status.ok());
  EXPECT_EQ((*got)[0].size, 1000u);
  EXPECT_EQ(static_cast<char>(dsts[0][999]), 'a');
  EXPECT_EQ((*got)[1].status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ((*got)[1].size, 1001u) << "the value's size is reported so the caller can retry";
  EXPECT_EQ((*got)[2].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(static_cast<char>(dsts[3][1002]), 'd');
  Result<std::vector<bool>> ex = c->BatchExists("m", keys);
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(*ex, (std::vector<bool>{true, true, false, true}));
}

TEST_F(KvLocalServerTest, PrefixMatchWithLeaseAndRelease) {
  auto c = Client();
  ASSERT_NE(c, nullptr);
  std::vector<std::string> keys = {"p0", "p1", "p2", "p3"};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c->Put("m", keys[i], Region(*c, 0, 64)).ok());
  Result<KvClient::PrefixMatchResult> m = c->PrefixMatch("m", keys, std::chrono::seconds(30));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->matched, 3u);
  EXPECT_EQ(m->lease.size(), 32u);
  Result<bool> rel = c->Release("m", m->lease);
  ASSERT_TRUE(rel.ok());
  EXPECT_TRUE(*rel);
  EXPECT_FALSE(*c->Release("m", m->lease));
  Result<KvClient::PrefixMatchResult> none = c->PrefixMatch("m", std::vector<std::string>{"x"});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->matched, 0u);
}

TEST_F(KvLocalServerTest, ClearErrorsAndTheNodeKeepsServing) {
  auto c = Client();
  ASSERT_NE(c, nullptr);
  Status unknown = c->Put("nope", "k", Region(*c, 0, 10));
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.message().find("--kv-namespace"), std::string::npos);

  // Raw requests: an item outside the segment is refused, nothing is written.
  auto seg = SharedMemory::Create(4096, "raw");
  ASSERT_TRUE(seg.ok());
  auto ch = KvLocalChannel::Connect(socket_, **seg, std::chrono::seconds(5));
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  KvLocalRequest put;
  put.op = KvLocalOp::kPut;
  put.ns = "m";
  put.items = {{"out", 4000, 200, 0}, {"wrap", UINT64_MAX - 5, 10, 0}, {"in", 0, 100, 0}};
  Result<KvLocalAnswer> a = (*ch)->Call(put);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->statuses,
            (std::vector<KvItemStatus>{KvItemStatus::kInvalidArgument,
                                       KvItemStatus::kInvalidArgument, KvItemStatus::kOk}));
  EXPECT_FALSE(*c->BatchExists("m", std::vector<std::string>{"out"}).value().begin());

  // Gets and puts before registering a segment; a garbage frame closes only that connection.
  int fd = RawConnect();
  KvLocalRequest get;
  get.op = KvLocalOp::kGet;
  get.ns = "m";
  get.items = {{"in", 0, 100, 0}};
  Result<KvLocalAnswer> unreg =
      DecodeLocalAnswer(KvLocalOp::kGet, RawCall(fd, Frame(EncodeLocalRequest(get))));
  ASSERT_TRUE(unreg.ok());
  EXPECT_NE(unreg->status.message().find("register"), std::string::npos);
  KvLocalRequest reg;
  reg.op = KvLocalOp::kRegister;
  reg.segment_bytes = 4096;
  Result<KvLocalAnswer> nofd =
      DecodeLocalAnswer(KvLocalOp::kRegister, RawCall(fd, Frame(EncodeLocalRequest(reg))));
  ASSERT_TRUE(nofd.ok());
  EXPECT_NE(nofd->status.message().find("descriptor"), std::string::npos);
  std::string huge("\xff\xff\xff\x7f", 4);
  std::string answer = RawCall(fd, huge);
  Result<KvLocalAnswer> too_big = DecodeLocalAnswer(KvLocalOp::kRegister, answer);
  ASSERT_TRUE(too_big.ok());
  EXPECT_EQ(too_big->status.code(), StatusCode::kInvalidArgument);
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0) << "the node closes a connection after a bad frame";
  ::close(fd);

  // An unsealed memfd is refused (its owner could shrink it under the node).
  int bad = memfd_create("unsealed", MFD_CLOEXEC);
  ASSERT_EQ(ftruncate(bad, 4096), 0);
  fd = RawConnect();
  ASSERT_TRUE(SendWithFd(fd, Frame(EncodeLocalRequest(reg)), bad).ok());
  ::close(bad);
  char head[4];
  ASSERT_EQ(::recv(fd, head, 4, MSG_WAITALL), 4);
  uint32_t len;
  std::memcpy(&len, head, 4);
  std::string payload(len, '\0');
  ASSERT_EQ(::recv(fd, payload.data(), len, MSG_WAITALL), static_cast<ssize_t>(len));
  Result<KvLocalAnswer> refused = DecodeLocalAnswer(KvLocalOp::kRegister, payload);
  ASSERT_TRUE(refused.ok());
  EXPECT_NE(refused->status.message().find("F_SEAL_SHRINK"), std::string::npos);
  ::close(fd);

  // Still serving.
  EXPECT_TRUE(c->Put("m", "after", Region(*c, 0, 10)).ok());
  EXPECT_TRUE(c->Get("m", "after", Region(*c, 100, 10)).ok());
}

TEST_F(KvLocalServerTest, SecondNodeCannotTakeALiveSocketButReplacesAStaleOne) {
  KvService* no_service = nullptr;
  MetricsRegistry metrics;
  KvLocalServerOptions o;
  o.socket_path = socket_;
  auto live = KvLocalServer::Start(o, no_service, &metrics);
  ASSERT_FALSE(live.ok());
  EXPECT_NE(live.status().message().find("another process"), std::string::npos);
  node_->StopNode();  // removes its socket
  EXPECT_FALSE(fs::exists(socket_));
  // A socket file left by a killed node: bound, never listened on.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  auto fresh = KvLocalServer::Start(o, no_service, &metrics);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  (*fresh)->Stop();
  o.socket_path = std::string(200, 'x');
  EXPECT_EQ(KvLocalServer::Start(o, no_service, &metrics).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace unicache

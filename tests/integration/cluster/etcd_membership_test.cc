// EtcdMembership against a real etcd: the fixture starts one etcd per test on free 127.0.0.1
// ports with a temporary data directory. The etcd binary is found on PATH, or taken from
// $UNICACHE_ETCD; the tests skip (saying why) only when it is absent.
#include "cluster/etcd_membership.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"

namespace unicache {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// Returns the etcd binary to run, or "" when there is none.
std::string FindEtcd() {
  if (const char* env = std::getenv("UNICACHE_ETCD"); env != nullptr && *env != '\0') return env;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, colon - start)) / "etcd";
    if (!candidate.parent_path().empty() && access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
    start = colon + 1;
  }
  return "";
}

// Returns a TCP port on 127.0.0.1 that was free a moment ago.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Polls `pred` every 20 ms until it holds or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::vector<std::string> Ids(const Membership& m) {
  std::shared_ptr<const MemberView> view = m.Current();  // keeps the members alive in the loop
  std::vector<std::string> ids;
  for (const Member& member : view->members) ids.push_back(member.id);
  return ids;
}

class EtcdMembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string etcd = FindEtcd();
    if (etcd.empty())
      GTEST_SKIP() << "etcd not found on PATH (install etcd-server, or set UNICACHE_ETCD)";
    char tmpl[] = "/tmp/unicache-etcd-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    int client_port = FreePort();
    int peer_port = FreePort();
    ASSERT_TRUE(client_port > 0 && peer_port > 0 && client_port != peer_port);
    endpoint_ = "http://127.0.0.1:" + std::to_string(client_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    // clang-format off
    std::vector<std::string> args = {
        etcd, "--name", "test", "--data-dir", dir_ + "/data",
        "--listen-client-urls", endpoint_, "--advertise-client-urls", endpoint_,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", "test=" + peer, "--logger", "zap"};
    // clang-format on
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = dir_ + "/etcd.log";
    pid_ = fork();
    ASSERT_GE(pid_, 0) << "fork failed";
    if (pid_ == 0) {
      // In the child: die with the test process (a ctest timeout must not leave etcd running).
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execv(etcd.c_str(), argv.data());
      _exit(127);
    }
    HttpClient http;
    bool exited = false;
    bool up = WaitFor(
        [&] {
          int status = 0;
          if (!exited && waitpid(pid_, &status, WNOHANG) == pid_) {
            exited = true;
            pid_ = 0;
          }
          if (exited) return true;
          HttpRequest req;
          req.url = endpoint_ + "/health";
          req.timeout = 500ms;
          auto resp = http.Send(req);
          return resp.ok() && resp->status == 200 &&
                 resp->body.find("\"true\"") != std::string::npos;
        },
        15s);
    ASSERT_TRUE(up && !exited) << "etcd (" << etcd << ") did not become healthy; see " << log;
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // Creates a started membership for node `i`, registered under `prefix`.
  std::unique_ptr<EtcdMembership> StartNode(int i, const std::string& prefix = "/test",
                                            std::chrono::milliseconds grace = 0ms) {
    EtcdMembershipOptions o;
    o.endpoints = {endpoint_};
    o.prefix = prefix;
    o.self = {.id = "node-" + std::to_string(i),
              .address = "127.0.0.1:" + std::to_string(17000 + i),
              .weight = 1.0 + i,
              .zone = "z" + std::to_string(i % 2)};
    o.ttl = 2s;
    o.grace = grace;
    auto m = EtcdMembership::Create(std::move(o));
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return nullptr;
    Status st = (*m)->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return std::move(m).value();
  }

  std::string dir_;
  std::string endpoint_;
  pid_t pid_ = 0;
};

TEST_F(EtcdMembershipTest, MembersJoinCrashExpireAndRejoin) {
  std::vector<std::unique_ptr<EtcdMembership>> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(StartNode(i));
  for (auto& n : nodes) ASSERT_NE(n, nullptr);
  const std::vector<std::string> all = {"node-0", "node-1", "node-2"};
  for (auto& n : nodes) {
    ASSERT_TRUE(WaitFor([&] { return Ids(*n) == all; }, 5s)) << n->SelfKey();
  }
  auto view = nodes[0]->Current();
  EXPECT_EQ(view->members[1].address, "127.0.0.1:17001");
  EXPECT_EQ(view->members[1].weight, 2.0);
  EXPECT_EQ(view->members[1].zone, "z1");

  // Crash node-2: destroyed without Stop(), so its lease is left to expire.
  uint64_t version_before = nodes[0]->Current()->version;
  auto crash = Clock::now();
  nodes[2].reset();
  const std::vector<std::string> two = {"node-0", "node-1"};
  ASSERT_TRUE(WaitFor([&] { return Ids(*nodes[0]) == two && Ids(*nodes[1]) == two; }, 10s));
  auto gone_after = Clock::now() - crash;
  std::printf("crashed member disappeared after %lld ms (TTL 2 s)\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(gone_after).count()));
  EXPECT_GE(gone_after, 1s);  // not revoked: it went only when the lease ran out
  EXPECT_GT(nodes[0]->Current()->version, version_before);

  // Restart it: it rejoins everywhere.
  nodes[2] = StartNode(2);
  ASSERT_NE(nodes[2], nullptr);
  for (auto& n : nodes) ASSERT_TRUE(WaitFor([&] { return Ids(*n) == all; }, 5s));

  // A clean Stop() revokes the lease: peers drop it without waiting for the TTL.
  auto stop = Clock::now();
  nodes[1]->Stop();
  const std::vector<std::string> without1 = {"node-0", "node-2"};
  ASSERT_TRUE(WaitFor([&] { return Ids(*nodes[0]) == without1; }, 5s));
  EXPECT_LT(Clock::now() - stop, 1s);
  for (auto& n : nodes) n->Stop();
}

TEST_F(EtcdMembershipTest, NodesClaimDistinctSlotsAndARestartWithinTheGraceMovesNothing) {
  std::vector<std::unique_ptr<EtcdMembership>> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(StartNode(i, "/test", 2s));
  for (auto& n : nodes) ASSERT_NE(n, nullptr);
  // Weights 1, 2, 3: 4, 8 and 12 slots, numbered from 0 in the order the nodes came.
  EXPECT_EQ(nodes[0]->SelfSlots(), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(nodes[1]->SelfSlots().size(), 8u);
  EXPECT_EQ(nodes[2]->SelfSlots().size(), 12u);
  EXPECT_EQ(nodes[2]->SelfSlots().back(), 23u);
  ASSERT_TRUE(WaitFor([&] { return nodes[0]->Current()->members.size() == 3; }, 5s));
  const auto before = nodes[0]->Current();
  EXPECT_EQ(before->members[1].slots, nodes[1]->SelfSlots());

  // node-1 restarts (a clean stop, then up again within the 2 s grace period): it takes its
  // own slots back and the others' view never changes, not even its version.
  std::vector<uint32_t> slots1 = nodes[1]->SelfSlots();
  nodes[1]->Stop();
  nodes[1] = StartNode(1, "/test", 2s);
  ASSERT_NE(nodes[1], nullptr);
  EXPECT_EQ(nodes[1]->SelfSlots(), slots1);
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(*nodes[0]->Current(), *before);

  // node-2 crashes: it stays in the view for its TTL plus the grace period, then goes; its
  // slots stay claimed as long, then a newcomer takes the lowest free numbers (its own).
  auto crash = Clock::now();
  nodes[2].reset();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(nodes[0]->Current()->members.size(), 3u);
  ASSERT_TRUE(WaitFor([&] { return nodes[0]->Current()->members.size() == 2; }, 10s));
  const auto gone_after = Clock::now() - crash;
  EXPECT_GE(gone_after, 3s);  // TTL 2 s + grace 2 s, give or take a keep-alive
  std::printf("crashed member left the view after %lld ms (TTL 2 s + grace 2 s)\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(gone_after).count()));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto newcomer = StartNode(7, "/test", 2s);
        bool reused = newcomer != nullptr && newcomer->SelfSlots().front() == 12u;
        if (newcomer) newcomer->Stop();
        return reused;
      },
      10s));
  nodes[0]->Stop();
  nodes[1]->Stop();
}

TEST_F(EtcdMembershipTest, AWatcherFollowsChangesInMillisecondsAndSurvivesCompaction) {
  EtcdMembershipOptions o;
  o.endpoints = {endpoint_};
  o.prefix = "/test";
  o.self = {.id = "watcher", .address = "127.0.0.1:17400"};
  o.grace = 0ms;
  o.watch_timeout = 1s;  // streams end and are renewed every second
  auto watcher = EtcdMembership::Create(std::move(o));
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE((*watcher)->Start().ok());
  auto joined = Clock::now();
  auto a = StartNode(1);
  ASSERT_TRUE(WaitFor([&] { return (*watcher)->Current()->members.size() == 2; }, 5s));
  const auto latency = Clock::now() - joined;
  std::printf("a join reached the watcher in %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(latency).count()));
  EXPECT_LT(latency, 2s);

  // Other writes move the store on, and etcd compacts them away while the watcher is between
  // streams; it must still see the next join.
  HttpClient http;
  auto post = [&](const std::string& path, const std::string& body) {
    HttpRequest req;
    req.method = "POST";
    req.url = endpoint_ + path;
    req.body = body;
    auto resp = http.Send(req);
    EXPECT_TRUE(resp.ok() && resp->status == 200) << path << ": " << (resp.ok() ? resp->body : "");
    return resp.ok() ? resp->body : "";
  };
  std::string revision;
  for (int i = 0; i < 5; ++i) {
    std::string body = post("/v3/kv/put", R"({"key":"b3RoZXI=","value":"eA=="})");
    size_t at = body.find("\"revision\":\"");
    ASSERT_NE(at, std::string::npos);
    revision = body.substr(at + 12, body.find('"', at + 12) - at - 12);
  }
  post("/v3/kv/compaction", R"({"revision":")" + revision + R"("})");
  std::this_thread::sleep_for(1500ms);
  auto b = StartNode(2);
  ASSERT_TRUE(WaitFor([&] { return (*watcher)->Current()->members.size() == 3; }, 5s));
  a->Stop();
  ASSERT_TRUE(WaitFor([&] { return (*watcher)->Current()->members.size() == 2; }, 5s));
  b->Stop();
  (*watcher)->Stop();
}

TEST_F(EtcdMembershipTest, SubscribersSeeChangesAndFactoryParsesPrefix) {
  MembershipOptions o;
  o.discovery = "etcd:" + endpoint_ + "/factory";
  o.self = {.id = "a", .address = "127.0.0.1:17100"};
  o.etcd_ttl = 2s;
  o.member_grace = 0ms;
  auto a = OpenMembership(o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  std::atomic<size_t> last_size{0};
  (*a)->Subscribe([&](std::shared_ptr<const MemberView> v) { last_size = v->members.size(); });
  ASSERT_TRUE((*a)->Start().ok());
  EXPECT_EQ(Ids(**a), std::vector<std::string>{"a"});
  auto other = StartNode(5, "/factory");
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(WaitFor([&] { return last_size.load() == 2; }, 5s));
  auto unrelated = StartNode(6, "/elsewhere");  // another prefix is another cluster
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Ids(**a), (std::vector<std::string>{"a", "node-5"}));
  (*a)->Stop();
  other->Stop();
  unrelated->Stop();
}

TEST_F(EtcdMembershipTest, FailsOverToTheNextEndpoint) {
  EtcdMembershipOptions o;
  o.endpoints = {"http://127.0.0.1:" + std::to_string(FreePort()), endpoint_};
  o.self = {.id = "y", .address = "127.0.0.1:17300"};
  o.request_timeout = 1s;
  auto m = EtcdMembership::Create(std::move(o));
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Start().ok());
  EXPECT_EQ(Ids(**m), std::vector<std::string>{"y"});
  (*m)->Stop();
}

TEST_F(EtcdMembershipTest, StartFailsWhenEtcdIsUnreachable) {
  EtcdMembershipOptions o;
  o.endpoints = {"http://127.0.0.1:" + std::to_string(FreePort())};
  o.self = {.id = "x", .address = "127.0.0.1:17200"};
  o.request_timeout = 1s;
  auto m = EtcdMembership::Create(std::move(o));
  ASSERT_TRUE(m.ok());
  Status st = (*m)->Start();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_EQ((*m)->Current()->version, 0u);
}

}  // namespace
}  // namespace unicache

#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>

namespace unicache {
namespace {

using namespace std::chrono_literals;

// A raw TCP client: the tests need to send malformed and pipelined bytes no HTTP library would.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    timeval tv{30, 0};  // keeps a server bug from hanging the test binary
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    EXPECT_TRUE(connected_);
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool Send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  struct Response {
    int status = 0;
    std::string head;  // status line and headers
    std::string body;
  };

  // Reads one response. For a HEAD request pass `head_request`: Content-Length then describes a
  // body that is not sent. Returns status 0 when the connection ended first.
  Response Read(bool head_request = false) {
    Response r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    r.head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    size_t length = 0;
    std::string lower = r.head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t cl = lower.find("\r\ncontent-length:");
    if (cl != std::string::npos) length = std::stoul(lower.substr(cl + 17));
    if (head_request) length = 0;
    while (buf_.size() < length) {
      if (!Fill()) return Response{};
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // Returns true when the peer closed the connection with no further bytes.
  bool ReadsEof() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0;
  }

  // Returns bytes received beyond the responses read so far (after waiting for EOF).
  std::string DrainToEof() {
    while (Fill()) {
    }
    return buf_;
  }

 private:
  bool Fill() {
    char tmp[4096];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

// Answers every request with its target as the body (and nothing for "/silent").
boost::asio::awaitable<void> EchoTarget(const Request& req, RequestBody&, ResponseWriter& w) {
  std::string target(req.target());
  if (target == "/silent") co_return;
  co_await w.Send(200, target, "text/plain", Header("X-Echo", "1"));
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.max_connections = 8;
    Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, EchoTarget, &metrics_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Returns the value of the series, or -1 when absent.
  int64_t Metric(const std::string& series) {
    std::istringstream in(metrics_.Render());
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(series + " ")) return std::stoll(line.substr(series.size() + 1));
    }
    return -1;
  }
  // The server records a request just after writing its response: wait for the count.
  bool WaitForMetric(const std::string& series, int64_t value) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (Metric(series) != value) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  MetricsRegistry metrics_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send(Get("/first")));
  RawConnection::Response r1 = c.Read();
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r1.body, "/first");
  EXPECT_NE(r1.head.find("X-Echo: 1\r\n"), std::string::npos) << r1.head;
  EXPECT_NE(r1.head.find("Content-Type: text/plain\r\n"), std::string::npos) << r1.head;
  EXPECT_EQ(r1.head.find("Connection: close"), std::string::npos) << r1.head;
  ASSERT_TRUE(c.Send(Get("/second")));
  RawConnection::Response r2 = c.Read();
  EXPECT_EQ(r2.status, 200);
  EXPECT_EQ(r2.body, "/second");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send(Get("/a") + Get("/b") + Get("/c")));
  EXPECT_EQ(c.Read().body, "/a");
  EXPECT_EQ(c.Read().body, "/b");
  EXPECT_EQ(c.Read().body, "/c");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send(Get("/bye", "Connection: close\r\n")));
  RawConnection::Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Connection: close\r\n"), std::string::npos) << r.head;
  EXPECT_TRUE(c.ReadsEof());
}

TEST_F(HttpServerTest, Http10ClosesByDefault) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send("GET /old HTTP/1.0\r\n\r\n"));
  RawConnection::Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "/old");
  EXPECT_TRUE(c.ReadsEof());
}

TEST_F(HttpServerTest, OversizedHeaderBlockIs431) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send(Get("/big", "X-Big: " + std::string(17 * 1024, 'a') + "\r\n")));
  RawConnection::Response r = c.Read();
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.head.find("Connection: close\r\n"), std::string::npos) << r.head;
  EXPECT_NE(r.body.find("\"code\":\"invalid_argument\""), std::string::npos) << r.body;
  EXPECT_TRUE(WaitForMetric("unicache_requests_total{frontend=\"http\",code=\"431\"}", 1));
}

TEST_F(HttpServerTest, HeaderBlockJustUnderTheLimitIsServed) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send(Get("/ok", "X-Big: " + std::string(15 * 1024, 'a') + "\r\n")));
  RawConnection::Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "/ok");
}

TEST_F(HttpServerTest, GarbageRequestLineIs400AndServerKeepsServing) {
  {
    RawConnection bad(server_->port());
    ASSERT_TRUE(bad.Send("THIS IS NOT HTTP\r\n\r\n"));
    RawConnection::Response r = bad.Read();
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.head.find("application/json"), std::string::npos) << r.head;
    EXPECT_NE(r.body.find("malformed HTTP request"), std::string::npos) << r.body;
    EXPECT_TRUE(bad.ReadsEof());
  }
  RawConnection good(server_->port());
  ASSERT_TRUE(good.Send(Get("/after")));
  RawConnection::Response r = good.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "/after");
  EXPECT_TRUE(WaitForMetric("unicache_requests_total{frontend=\"http\",code=\"400\"}", 1));
}

TEST_F(HttpServerTest, HeadGetsHeadersOnly) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send("HEAD /headme HTTP/1.1\r\nHost: test\r\n\r\n"));
  RawConnection::Response head = c.Read(/*head_request=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.head.find("Content-Length: 7\r\n"), std::string::npos) << head.head;
  // Had the server sent a body after the HEAD response, it would be read as the next response.
  ASSERT_TRUE(c.Send(Get("/next")));
  RawConnection::Response next = c.Read();
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "/next");
}

TEST_F(HttpServerTest, HandlerThatSendsNothingGets500) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send(Get("/silent")));
  RawConnection::Response r = c.Read();
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("handler sent no response"), std::string::npos) << r.body;
}

TEST_F(HttpServerTest, RequestsAreCounted) {
  RawConnection c(server_->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(Get("/n" + std::to_string(i))));
    EXPECT_EQ(c.Read().status, 200);
  }
  ASSERT_TRUE(c.Send(Get("/silent")));
  EXPECT_EQ(c.Read().status, 500);
  EXPECT_TRUE(WaitForMetric("unicache_requests_total{frontend=\"native\",code=\"200\"}", 3));
  EXPECT_TRUE(WaitForMetric("unicache_requests_total{frontend=\"native\",code=\"500\"}", 1));
  EXPECT_TRUE(WaitForMetric("unicache_request_seconds_count{frontend=\"native\"}", 4));
  // Body bytes of the three echoes ("/n0".."/n2") plus the 500's JSON body.
  EXPECT_GT(Metric("unicache_served_bytes_total"), 9);
}

TEST_F(HttpServerTest, ConnectionsOverTheLimitGet503) {
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(held.back()->Send(Get("/hold")));
    ASSERT_EQ(held.back()->Read().status, 200);  // the connection is being served
  }
  RawConnection extra(server_->port());
  ASSERT_TRUE(extra.Send(Get("/one-too-many")));
  RawConnection::Response r = extra.Read();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.head.find("Retry-After: 1\r\n"), std::string::npos) << r.head;
  EXPECT_NE(r.body.find(R"("detail":"overloaded")"), std::string::npos) << r.body;
  EXPECT_TRUE(extra.ReadsEof());
}

TEST(HttpServerStartTest, BadAddressIsInvalidArgument) {
  MetricsRegistry metrics;
  HttpServerOptions options;
  options.host = "not-an-ip";
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, EchoTarget, &metrics);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace unicache

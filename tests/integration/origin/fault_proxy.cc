#include "fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <string>

namespace unicache::testing {
namespace {

bool SendAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Reads one request (headers and a Content-Length body); "" on a closed connection.
std::string ReadRequest(int fd) {
  std::string buf;
  char chunk[65536];
  size_t header_end = std::string::npos;
  size_t need = 0;
  while (true) {
    if (header_end == std::string::npos) {
      header_end = buf.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        size_t body = 0;
        std::string lower;
        for (char c : buf.substr(0, header_end))
          lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        size_t cl = lower.find("\r\ncontent-length:");
        if (cl != std::string::npos) body = std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
        need = header_end + 4 + body;
      }
    }
    if (header_end != std::string::npos && buf.size() >= need) return buf;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return "";
    buf.append(chunk, static_cast<size_t>(n));
  }
}

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port, int throttle, int drop, int retry_after_s)
    : upstream_port_(upstream_port),
      throttle_(throttle),
      drop_(drop),
      retry_after_s_(retry_after_s) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::listen(listen_fd_, 64) == 0 &&
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.sin_port);
  }
  thread_ = std::thread([this] { Serve(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void FaultProxy::Serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    Handle(client);
    ::close(client);
  }
}

void FaultProxy::Handle(int client) {
  // One request per connection: the proxy always closes after answering.
  std::string req = ReadRequest(client);
  if (req.empty()) return;
  int n = requests_++;
  if (n < throttle_) {
    ++faults_;
    std::string resp =
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + std::to_string(retry_after_s_) +
        "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    SendAll(client, resp.data(), resp.size());
    return;
  }
  if (n < throttle_ + drop_) {
    ++faults_;
    return;  // closed without a response
  }
  int upstream = ConnectLoopback(upstream_port_);
  if (upstream < 0) return;
  size_t line_end = req.find("\r\n");
  req.insert(line_end + 2, "Connection: close\r\n");
  if (SendAll(upstream, req.data(), req.size())) {
    char chunk[65536];
    ssize_t got;
    while ((got = ::recv(upstream, chunk, sizeof chunk, 0)) > 0) {
      if (!SendAll(client, chunk, static_cast<size_t>(got))) break;
    }
  }
  ::close(upstream);
}

}  // namespace unicache::testing

#include "kv/local_channel.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace unicache {
namespace {

Status Broken(const std::string& what) {
  return Unavailable("KV shared-memory socket: " + what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<KvLocalChannel>> KvLocalChannel::Connect(const std::string& socket_path,
                                                                const SharedMemory& segment,
                                                                std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("KV socket path '" + socket_path + "' is empty or too long");
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Broken("socket");
  std::unique_ptr<KvLocalChannel> ch(new KvLocalChannel(fd));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Unavailable("no unicache node listens on KV socket " + socket_path + " (" +
                       std::strerror(errno) + "); is the node started with --kv-namespace?");
  }
  KvLocalRequest reg;
  reg.op = KvLocalOp::kRegister;
  reg.segment_bytes = segment.size();
  RETURN_IF_ERROR(SendWithFd(fd, Frame(EncodeLocalRequest(reg)), segment.fd()));
  char head[4];
  RETURN_IF_ERROR(ch->RecvAll(head, 4));
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= uint32_t(static_cast<uint8_t>(head[i])) << (8 * i);
  if (len > kKvLocalMaxFrame) return Unavailable("KV socket: oversized answer");
  std::string payload(len, '\0');
  RETURN_IF_ERROR(ch->RecvAll(payload.data(), len));
  ASSIGN_OR_RETURN(KvLocalAnswer a, DecodeLocalAnswer(KvLocalOp::kRegister, payload));
  RETURN_IF_ERROR(a.status.WithContext("registering the shared-memory segment"));
  return ch;
}

KvLocalChannel::~KvLocalChannel() { ::close(fd_); }

Status KvLocalChannel::SendAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Broken("send");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status KvLocalChannel::RecvAll(char* buf, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd_, buf, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      errno = ECONNRESET;
      return Broken("the node closed the connection");
    }
    if (r < 0) {
      return errno == EAGAIN || errno == EWOULDBLOCK
                 ? DeadlineExceeded("KV shared-memory socket: no answer within the timeout")
                 : Broken("recv");
    }
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return Status::Ok();
}

Result<KvLocalAnswer> KvLocalChannel::Call(const KvLocalRequest& req) {
  RETURN_IF_ERROR(SendAll(Frame(EncodeLocalRequest(req))));
  char head[4];
  RETURN_IF_ERROR(RecvAll(head, 4));
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= uint32_t(static_cast<uint8_t>(head[i])) << (8 * i);
  if (len > kKvLocalMaxFrame) return Unavailable("KV socket: oversized answer");
  std::string payload(len, '\0');
  RETURN_IF_ERROR(RecvAll(payload.data(), len));
  return DecodeLocalAnswer(req.op, payload);
}

}  // namespace unicache

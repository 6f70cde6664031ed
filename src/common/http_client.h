// A blocking HTTP/1.1 client over libcurl, the one way unicache makes outgoing HTTP requests
// (origins, peers, CLI). Connections are kept alive and reused.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/fork_safe_mutex.h"
#include "common/status.h"

namespace unicache {

struct HttpResponse;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent as is for PUT/POST
  // When set (a PUT), the body is pulled from here instead: body_source_size bytes in pieces as
  // libcurl sends them, never held whole. It returns how many bytes it put in the span (0: no
  // more); an error it returns, or an end before body_source_size bytes, aborts the transfer and
  // is what Send() returns.
  std::function<Result<size_t>(std::span<std::byte> dst)> body_source;
  uint64_t body_source_size = 0;
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds connect_timeout{5000};
  // When set, a 2xx response body is written here instead of HttpResponse::body (other
  // responses keep their error body there); a body longer than the span fails with
  // ResourceExhausted. Non-owning; must outlive Send().
  std::span<std::byte> body_sink;
  // When set (instead of body_sink), a 2xx response body is handed here piece by piece as it
  // arrives, with the response's status and headers; an error it returns aborts the transfer
  // and Send() returns that error. Other responses keep their body in HttpResponse::body.
  std::function<Status(const HttpResponse& head, std::span<const std::byte> piece)> body_stream;
  // When set, checks a 2xx response's status and headers before any of its body reaches
  // body_sink or body_stream (for an empty body: once the response is in). An error it returns
  // aborts the transfer, closes the connection, and is what Send() returns: an answer that is
  // not the one asked for never becomes data.
  std::function<Status(const HttpResponse& head)> check_head;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  size_t body_bytes = 0;  // bytes received (into body, body_sink or body_stream)

  // Returns the header value or "" when absent. `name` must be lower-case.
  std::string Header(const std::string& name) const;
};

// Thread-safe: each Send() borrows a curl handle from an internal pool, so connections are
// reused across calls and threads.
//
// Fork-safe: connections are reused only by the process that opened them. A process forked
// from one that used the client (a PyTorch DataLoader worker, say) abandons the inherited
// connections on its first Send() and opens its own; two processes never read one socket.
// The inherited handles are leaked on purpose, their sockets closed without a word: closing
// them through libcurl would send a TLS close_notify down the parent's connection.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `req` and waits for the whole response. A response of any status is a success here;
  // transport failures map to Unavailable (refused, reset, DNS) or DeadlineExceeded (timeout).
  Result<HttpResponse> Send(const HttpRequest& req);

  // Aborts the requests in flight (within about a second: libcurl polls for it) and refuses later
  // ones, with Unavailable: for a process that is stopping. Not undone.
  void Cancel() { cancelled_.store(true); }

 private:
  static int OnProgress(void* client, int64_t, int64_t, int64_t, int64_t);
  struct Handle;  // a curl handle and the socket it last opened
  Handle* Acquire();
  void Release(Handle* handle);
  // Forgets the idle handles when they were opened by another process (see the class comment).
  void DropInheritedLocked();

  ForkSafeMutex mu_;
  std::vector<Handle*> idle_;  // guarded by mu_
  int pid_;                    // the process the idle handles belong to; guarded by mu_
  void* share_ = nullptr;      // CURLSH* for DNS cache
  std::atomic<bool> cancelled_{false};
  // Serialize the share's use by concurrent transfers (libcurl requires lock callbacks for a
  // share used from several threads); one per curl_lock_data value. Where libcurl nests them it
  // takes CURL_LOCK_DATA_SHARE before the data locks: the order of this array, which is the order
  // the fork handler takes them in.
  std::array<ForkSafeMutex, 8> share_locks_;
};

}  // namespace unicache

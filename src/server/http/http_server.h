// HttpServer: the node's HTTP/1.1 front door (Boost.Beast on Asio, C++20 coroutines).
// Event-loop threads, each with its own io_context accepting on one shared listening socket, so
// a connection lives on one thread for its whole life and sessions need no locks.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "common/status_http.h"

namespace unicache {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;
using Request = boost::beast::http::request<boost::beast::http::string_body>;

// Returns a one-header list. Coroutines use this instead of a braced list: g++ 12 rejects
// initializer lists whose temporaries live across a co_await ("array used as initializer").
inline HttpHeaders Header(std::string name, std::string value) {
  HttpHeaders h;
  h.emplace_back(std::move(name), std::move(value));
  return h;
}

// An error response's body and content type, rendered from its status and error. A front-end
// with its own error vocabulary (the S3 endpoint's XML) gives its own.
struct ErrorBodyText {
  std::string body;
  std::string content_type;
};
using ErrorFormat = std::function<ErrorBodyText(int status, const Status& error)>;

// The default ErrorFormat: the JSON of common/status_http.h.
ErrorBodyText JsonErrorBody(int status, const Status& error);

// Writes one response on a connection, either whole (Send) or streamed (Start + Write + Finish).
// Not thread-safe: used by the one coroutine that serves the request.
class ResponseWriter {
 public:
  // `error_format` (borrowed) renders SendError's bodies; null: JsonErrorBody.
  ResponseWriter(boost::beast::tcp_stream& stream, bool head_only, bool keep_alive,
                 const ErrorFormat* error_format = nullptr)
      : stream_(stream),
        head_only_(head_only),
        keep_alive_(keep_alive),
        error_format_(error_format) {}

  // Sends a complete response. A HEAD request gets the headers only.
  boost::asio::awaitable<void> Send(int status, std::string body,
                                    std::string_view content_type = "text/plain; charset=utf-8",
                                    const HttpHeaders& headers = {});

  // Sends `error` as an error body (the server's ErrorFormat: JSON by default), with `status`
  // (HttpStatusFor the error by default) and, when the error carries one, a Retry-After header.
  boost::asio::awaitable<void> SendError(const Status& error, const HttpHeaders& headers = {}) {
    return SendError(HttpStatusFor(error), error, headers);
  }
  boost::asio::awaitable<void> SendError(int status, const Status& error,
                                         const HttpHeaders& headers = {});

  // Starts a response of `content_length` body bytes; the header goes out with the first Write.
  void Start(int status, uint64_t content_length, const HttpHeaders& headers);
  // Writes body bytes (nothing for HEAD). REQUIRES: Start() was called. The caller keeps `data`
  // alive until the co_await completes. Returns false once the connection failed.
  boost::asio::awaitable<bool> Write(std::span<const std::byte> data);
  // Flushes a header not yet sent (empty body or HEAD).
  boost::asio::awaitable<bool> Finish();

  // Marks the connection to be closed after this response (e.g. a stream cut short).
  void Abort() { keep_alive_ = false, failed_ = true; }

  bool started() const { return started_; }
  bool failed() const { return failed_; }
  bool keep_alive() const { return keep_alive_; }
  int status() const { return status_; }
  uint64_t body_bytes() const { return body_bytes_; }
  // The frontend label for metrics ("native", "admin", ...); set by the route.
  void set_frontend(std::string_view f) { frontend_ = f; }
  std::string_view frontend() const { return frontend_; }

 private:
  boost::asio::awaitable<bool> WriteBuffers(std::span<const std::byte> body);

  boost::beast::tcp_stream& stream_;
  bool head_only_;
  bool keep_alive_;
  const ErrorFormat* error_format_;
  bool started_ = false;
  bool header_sent_ = false;
  bool failed_ = false;
  int status_ = 0;
  uint64_t body_bytes_ = 0;
  std::string header_;
  std::string_view frontend_ = "native";
};

// The body of an upload whose route streams it (HttpServerOptions::stream_body): the handler
// reads it piece by piece, so it is never held whole. For other requests the body is in
// Request::body() already and this reader is empty. Not thread-safe: used by the coroutine that
// serves the request.
class RequestBody {
 public:
  using Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

  RequestBody() = default;  // nothing streamed
  RequestBody(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
              std::unique_ptr<Parser> parser, std::chrono::seconds timeout);

  bool streamed() const { return parser_ != nullptr; }
  // The Content-Length the request stated, if any.
  std::optional<uint64_t> length() const;
  // True once the whole body was read (always, when nothing is streamed).
  bool done() const { return parser_ == nullptr || (left_ ? *left_ == 0 : parser_->is_done()); }

  // Reads the next body bytes into `dst` until it is full or the body ends; returns how many (0
  // at the end). A client that sends nothing for the timeout is DeadlineExceeded; a body larger
  // than the limit or malformed, InvalidArgument; a connection lost, Unavailable. The connection
  // is closed after the response when the body was not read to its end.
  boost::asio::awaitable<Result<size_t>> Read(std::span<std::byte> dst);

 private:
  boost::beast::tcp_stream* stream_ = nullptr;
  boost::beast::flat_buffer* buffer_ = nullptr;
  std::unique_ptr<Parser> parser_;
  // A body of stated length is read straight from the socket into the caller's buffer, in reads
  // as large as the socket gives: this many bytes are left. Chunked bodies go through the
  // parser (nullopt).
  std::optional<uint64_t> left_;
  std::chrono::seconds timeout_{0};
  Status failed_;  // a read error: every later Read() returns it
};

using Handler =
    std::function<boost::asio::awaitable<void>(const Request&, RequestBody&, ResponseWriter&)>;

// Event loops when none are configured: half the cores, at least one. A node shares its host with
// the jobs it serves (data loaders, FUSE readers, inference engines on the shared-memory path),
// and a loop's work is mostly the kernel's socket copy: measured on 2 cores with 8-32 local KV
// clients, one loop served 256 KiB GETs 1.4-1.6x faster than two, and single-node object reads
// were no slower (docs/BENCHMARKS.md).
size_t DefaultEventLoops();

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;   // 0: pick a free port
  size_t threads = 0;  // 0: DefaultEventLoops()
  size_t max_connections = 4096;
  uint32_t header_limit = 16 * 1024;  // larger headers get 431
  // Uploads (PUT/POST) for which this returns true (given the request's header) are streamed:
  // the handler reads them with RequestBody, at most stream_body_limit bytes. Other uploads are
  // read whole before the handler runs, at most body_limit bytes each and buffered_body_budget
  // bytes for all connections at once (beyond it: 503 + Retry-After). Other requests' bodies:
  // at most 64 KiB. Larger bodies get 413.
  std::function<bool(const Request& header)> stream_body;
  uint64_t stream_body_limit = 5ull << 30;
  uint64_t body_limit = 80ull << 20;
  uint64_t buffered_body_budget = 512ull << 20;
  // A request's header, and each piece of its body, must arrive within this; so must the next
  // request on an idle connection.
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds write_timeout{60};
  // Renders error bodies, the server's own (400, 413, 431, 503) and the handler's SendError.
  // Empty: JsonErrorBody.
  ErrorFormat error_format;
};

// Thread-safe: Stop() may be called from any thread.
class HttpServer {
 public:
  // Binds, listens and starts the event-loop threads. `handler` is called for every well-formed
  // request; malformed ones are answered by the server itself (400/413/431) and the connection
  // closed. `metrics` (borrowed) gets unicache_requests_total, unicache_request_seconds and
  // unicache_served_bytes_total.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   Handler handler, MetricsRegistry* metrics);
  ~HttpServer();

  uint16_t port() const { return port_; }
  // Starts draining: every response from now on carries `Connection: close`. Idempotent.
  void Drain();
  // Stops taking connections and closes the idle ones (requests being served are answered).
  void StopAccepting();
  // Waits until no request is being served or `deadline` passed; returns how many still are.
  size_t WaitDrained(std::chrono::steady_clock::time_point deadline) const;
  // Stops accepting and closes every connection; returns when all event loops have ended.
  void Stop();

 private:
  struct Loop;
  HttpServer(HttpServerOptions options, Handler handler, MetricsRegistry* metrics);
  boost::asio::awaitable<void> Accept(Loop& loop);
  // Serves a newly accepted connection on `loop`.
  void Spawn(Loop& loop, boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> Serve(Loop& loop, boost::beast::tcp_stream stream);
  void Record(std::string_view frontend, int status, double seconds, uint64_t bytes);

  HttpServerOptions options_;
  Handler handler_;
  MetricsRegistry* metrics_;
  Counter* served_bytes_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> connections_{0};
  std::atomic<uint64_t> buffered_body_bytes_{0};  // bodies being read whole, all connections
  std::atomic<bool> stopped_{false};
  std::atomic<bool> draining_{false};           // responses close their connection
  std::atomic<bool> accepting_stopped_{false};  // no new connections; idle ones closed
  std::atomic<size_t> requests_in_flight_{0};
  uint16_t port_ = 0;
};

// Returns the reason phrase for an HTTP status code.
std::string_view ReasonPhrase(int status);

}  // namespace unicache

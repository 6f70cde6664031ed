#include "server/http/http_server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <set>

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <nlohmann/json.hpp>

#include "common/http_answer.h"
#include "common/text.h"

namespace unicache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// Counts a request being served for as long as it lives.
class InFlight {
 public:
  explicit InFlight(std::atomic<size_t>& n) : n_(n) { n_.fetch_add(1); }
  ~InFlight() { n_.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<size_t>& n_;
};
// Bodies at least this large are read without the parser (see Serve()).
constexpr uint64_t kDirectBodyBytes = 256 * 1024;

// Completion condition for whole-body reads and writes: as many bytes per system call as the
// socket takes. Asio's transfer_all caps each call at 64 KiB, so a 1 MiB answer cost 16 sendmsg
// calls, each waking the reader; this is most of the CPU a large GET costs on loopback.
size_t TransferAllLarge(const boost::system::error_code& ec, size_t /*transferred*/) {
  return ec ? 0 : size_t{64} << 20;
}

// Bytes of request bodies read whole, counted against one budget for all connections while
// their request is served.
class BodyReservation {
 public:
  explicit BodyReservation(std::atomic<uint64_t>& total) : total_(total) {}
  ~BodyReservation() { total_.fetch_sub(taken_); }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;

  // Takes `bytes` more; false, taking nothing, when the total would pass `budget`.
  bool Take(uint64_t bytes, uint64_t budget) {
    if (total_.fetch_add(bytes) + bytes > budget) {
      total_.fetch_sub(bytes);
      return false;
    }
    taken_ += bytes;
    return true;
  }

 private:
  std::atomic<uint64_t>& total_;
  uint64_t taken_ = 0;
};
// True when the request asks for "100 Continue" before it sends its body.
bool ExpectsContinue(const Request& header) {
  auto it = header.find(http::field::expect);
  return it != header.end() && EqualsNoCase(TrimSpace(it->value()), "100-continue");
}
}  // namespace

RequestBody::RequestBody(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                         std::unique_ptr<Parser> parser, std::chrono::seconds timeout)
    : stream_(&stream), buffer_(&buffer), parser_(std::move(parser)), timeout_(timeout) {
  if (!parser_->chunked()) left_ = parser_->content_length().value_or(0);
}

std::optional<uint64_t> RequestBody::length() const {
  if (parser_ == nullptr) return std::nullopt;
  auto n = parser_->content_length();
  return n ? std::optional<uint64_t>(*n) : std::nullopt;
}

asio::awaitable<Result<size_t>> RequestBody::Read(std::span<std::byte> dst) {
  if (!failed_.ok()) co_return failed_;
  if (left_) {
    dst = dst.first(static_cast<size_t>(std::min<uint64_t>(dst.size(), *left_)));
    // First the bytes that came in with the header, then the socket.
    size_t filled = asio::buffer_copy(asio::buffer(dst.data(), dst.size()), buffer_->data());
    buffer_->consume(filled);
    if (filled < dst.size()) {
      boost::system::error_code ec;
      stream_->expires_after(timeout_);
      filled += co_await asio::async_read(
          *stream_, asio::buffer(dst.data() + filled, dst.size() - filled), TransferAllLarge,
          asio::redirect_error(asio::use_awaitable, ec));
      if (ec == beast::error::timeout) {
        failed_ = DeadlineExceeded("the client sent too little of the body in " +
                                   std::to_string(timeout_.count()) + " s");
      } else if (ec) {
        failed_ = Unavailable("the client closed the connection before the end of the body (" +
                              ec.message() + ")");
      }
    }
    *left_ -= filled;
    if (!failed_.ok()) co_return failed_;
    co_return filled;
  }
  size_t filled = 0;
  while (parser_ != nullptr && !parser_->is_done() && filled < dst.size()) {
    const size_t want = dst.size() - filled;
    auto& b = parser_->get().body();
    b.data = dst.data() + filled;
    b.size = want;
    boost::system::error_code ec;
    stream_->expires_after(timeout_);
    co_await http::async_read_some(*stream_, *buffer_, *parser_,
                                   asio::redirect_error(asio::use_awaitable, ec));
    filled += want - b.size;
    if (!ec || ec == http::error::need_buffer) continue;
    if (ec == beast::error::timeout) {
      failed_ = DeadlineExceeded("the client sent no body bytes for " +
                                 std::to_string(timeout_.count()) + " s");
    } else if (ec == http::error::body_limit) {
      failed_ = InvalidArgument("request body larger than the server's upload limit");
    } else if (ec == asio::error::eof || ec == http::error::partial_message ||
               ec == asio::error::connection_reset) {
      failed_ = Unavailable("the client closed the connection before the end of the body");
    } else {
      failed_ = InvalidArgument("malformed request body: " + ec.message());
    }
    co_return failed_;
  }
  co_return filled;
}
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

// ---- ResponseWriter ----

void ResponseWriter::Start(int status, uint64_t content_length, const HttpHeaders& headers) {
  status_ = status;
  started_ = true;
  header_ = "HTTP/1.1 " + std::to_string(status) + " " + std::string(ReasonPhrase(status)) + "\r\n";
  for (const auto& [k, v] : headers) header_ += k + ": " + v + "\r\n";
  // A 304 has no body, and its Content-Length would have to be the 200's (RFC 9110 8.6).
  if (status != 304 && status != 204) {
    header_ += "Content-Length: " + std::to_string(content_length) + "\r\n";
  }
  if (!keep_alive_) header_ += "Connection: close\r\n";
  header_ += "\r\n";
}

asio::awaitable<bool> ResponseWriter::WriteBuffers(std::span<const std::byte> body) {
  boost::system::error_code ec;
  stream_.expires_after(std::chrono::seconds(60));
  if (!header_sent_) {
    std::vector<asio::const_buffer> bufs;  // not std::array: g++ 12 miscompiles array init here
    bufs.push_back(asio::buffer(header_));
    bufs.push_back(asio::buffer(body.data(), body.size()));
    co_await asio::async_write(stream_, bufs, TransferAllLarge,
                               asio::redirect_error(asio::use_awaitable, ec));
    header_sent_ = true;
  } else if (!body.empty()) {
    co_await asio::async_write(stream_, asio::buffer(body.data(), body.size()), TransferAllLarge,
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    failed_ = true;
    keep_alive_ = false;
    co_return false;
  }
  body_bytes_ += body.size();
  co_return true;
}

asio::awaitable<bool> ResponseWriter::Write(std::span<const std::byte> data) {
  if (failed_) co_return false;
  if (head_only_) co_return true;
  co_return co_await WriteBuffers(data);
}

asio::awaitable<bool> ResponseWriter::Finish() {
  if (failed_) co_return false;
  if (header_sent_) co_return true;
  co_return co_await WriteBuffers({});
}

asio::awaitable<void> ResponseWriter::Send(int status, std::string body,
                                           std::string_view content_type,
                                           const HttpHeaders& headers) {
  HttpHeaders all = headers;
  all.emplace_back("Content-Type", std::string(content_type));
  Start(status, body.size(), all);
  if (!head_only_ && !body.empty()) {
    co_await Write(std::as_bytes(std::span(body.data(), body.size())));
  } else {
    co_await Finish();
  }
}

ErrorBodyText JsonErrorBody(int /*status*/, const Status& error) {
  return {ErrorBody(error), "application/json"};
}

asio::awaitable<void> ResponseWriter::SendError(int status, const Status& error,
                                                const HttpHeaders& headers) {
  HttpHeaders with_reason = headers;
  if (std::optional<std::chrono::milliseconds> wait = error.retry_after()) {
    const int64_t seconds = (wait->count() + 999) / 1000;  // Retry-After counts whole seconds
    with_reason.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, seconds)));
  }
  ErrorBodyText text =
      error_format_ != nullptr ? (*error_format_)(status, error) : JsonErrorBody(status, error);
  if (!head_only_) {
    co_return co_await Send(status, std::move(text.body), text.content_type, with_reason);
  }
  // A HEAD answer has no body: the reason goes in a header, on one line.
  std::string reason = error.message().substr(0, 512);
  for (char& c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  with_reason.emplace_back(kErrorHeader, std::move(reason));
  co_await Send(status, std::move(text.body), text.content_type, with_reason);
}

// ---- HttpServer ----

struct HttpServer::Loop {
  asio::io_context io{1};
  std::unique_ptr<tcp::acceptor> acceptor;
  // Connections waiting for their next request, closed by Drain(). Used on the loop's thread.
  std::set<beast::tcp_stream*> idle;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler, MetricsRegistry* metrics)
    : options_(std::move(options)), handler_(std::move(handler)), metrics_(metrics) {
  if (!options_.error_format) options_.error_format = JsonErrorBody;
  served_bytes_ = &metrics_->GetCounter("unicache_served_bytes_total", {},
                                        "Response body bytes sent to clients.");
}

HttpServer::~HttpServer() { Stop(); }

size_t DefaultEventLoops() { return std::max(1u, std::thread::hardware_concurrency() / 2); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Handler handler, MetricsRegistry* metrics) {
  std::unique_ptr<HttpServer> server(new HttpServer(options, std::move(handler), metrics));
  size_t threads = options.threads ? options.threads : DefaultEventLoops();
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return InvalidArgument("bad listen address '" + options.host + "': " + ec.message());
  // One listening socket, bound without SO_REUSEPORT: with it, a second process could bind the
  // same address and the kernel would split connections between the two nodes. Each loop
  // accepts on its own descriptor of that socket; a connection goes to the loop that takes it.
  uint16_t port = 0;
  int listener = -1;
  for (size_t i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>();
    auto acceptor = std::make_unique<tcp::acceptor>(loop->io);
    tcp::endpoint ep(address, options.port);
    if (i == 0) {
      acceptor->open(ep.protocol(), ec);
      if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor->bind(ep, ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        return Unavailable("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                           ": " + ec.message() +
                           (ec == boost::asio::error::address_in_use
                                ? " (another process serves this address: stop it or pick "
                                  "another --listen port)"
                                : ""));
      }
      port = acceptor->local_endpoint().port();
      listener = acceptor->native_handle();
    } else {
      const int fd = ::dup(listener);
      if (fd < 0) return ErrnoStatus("dup(listening socket)", errno);
      acceptor->assign(ep.protocol(), fd, ec);
      if (ec) {
        ::close(fd);
        return Internal("cannot share the listening socket: " + ec.message());
      }
    }
    loop->acceptor = std::move(acceptor);
    server->loops_.push_back(std::move(loop));
  }
  server->port_ = port;
  for (auto& loop : server->loops_) {
    asio::co_spawn(loop->io, server->Accept(*loop), asio::detached);
    server->threads_.emplace_back([l = loop.get()] { l->io.run(); });
  }
  return server;
}

void HttpServer::Drain() { draining_ = true; }

void HttpServer::StopAccepting() {
  if (stopped_ || accepting_stopped_.exchange(true)) return;
  draining_ = true;
  for (auto& loop : loops_) {
    asio::post(loop->io, [l = loop.get()] {
      boost::system::error_code ignored;
      l->acceptor->close(ignored);
      for (beast::tcp_stream* stream : l->idle) stream->socket().cancel(ignored);
    });
  }
}

size_t HttpServer::WaitDrained(std::chrono::steady_clock::time_point deadline) const {
  while (requests_in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return requests_in_flight_.load();
}

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  for (auto& loop : loops_) loop->io.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

asio::awaitable<void> HttpServer::Accept(Loop& loop) {
  bool accept_failing = false;
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await loop.acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of descriptors (or memory): retrying at once would spin. Wait a little; the
      // connections waiting in the backlog are taken once some close.
      if (!accept_failing) spdlog::warn("accept failed: {}; retrying every 50 ms", ec.message());
      accept_failing = true;
      asio::steady_timer pause(loop.io, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    accept_failing = false;
    Spawn(loop, std::move(socket));
    // Then every connection already waiting, without a loop turn each: under connection churn a
    // busy loop otherwise takes one per turn, and clients wait seconds in the backlog.
    loop.acceptor->non_blocking(true, ec);
    for (int i = 0; i < 256 && !ec; ++i) {
      tcp::socket next = loop.acceptor->accept(ec);
      if (!ec) Spawn(loop, std::move(next));
    }
  }
}

void HttpServer::Spawn(Loop& loop, tcp::socket socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  asio::co_spawn(loop.io, Serve(loop, beast::tcp_stream(std::move(socket))),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("connection ended by an exception: {}", ex.what());
                   }
                 });
}

void HttpServer::Record(std::string_view frontend, int status, double seconds, uint64_t bytes) {
  // Looked up per request; the registry's map lookups are cheap next to an HTTP round trip.
  metrics_
      ->GetCounter("unicache_requests_total",
                   {{"frontend", std::string(frontend)}, {"code", std::to_string(status)}},
                   "HTTP requests answered, by front-end and status code.")
      .Inc();
  metrics_
      ->GetHistogram("unicache_request_seconds", {{"frontend", std::string(frontend)}},
                     "Request latency in seconds, by front-end.")
      .Observe(seconds);
  served_bytes_->Inc(bytes);
}

asio::awaitable<void> HttpServer::Serve(Loop& loop, beast::tcp_stream stream) {
  struct Slot {  // counts this connection against max_connections
    std::atomic<size_t>& n;
    ~Slot() { n.fetch_sub(1); }
  } slot{connections_};
  bool over_limit = connections_.fetch_add(1) >= options_.max_connections;

  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    bool direct = false;  // the body was read by hand into direct_body
    std::string direct_body;
    parser.header_limit(options_.header_limit);
    // Beast checks a Content-Length against the limit with the header, before the route is
    // known: the larger limit here, the one that applies once the route is known.
    parser.body_limit(std::max(options_.body_limit, options_.stream_body_limit));
    boost::system::error_code ec;
    if (accepting_stopped_) break;  // the connection is idle: no more requests
    stream.expires_after(options_.idle_timeout);
    loop.idle.insert(&stream);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    loop.idle.erase(&stream);
    if (ec == asio::error::operation_aborted && accepting_stopped_) break;
    // Counted from here: a request whose header arrived is answered before a drain ends.
    const InFlight in_flight(requests_in_flight_);
    std::unique_ptr<RequestBody::Parser> streamed;  // an upload the handler reads itself
    BodyReservation reserved{buffered_body_bytes_};
    Status refused;  // a body not read at all: refused with this, then the connection closed
    if (!ec && !parser.is_done()) {
      // Only uploads may carry large bodies; anything else gets a small limit, so a GET with a
      // huge body cannot make the node buffer it.
      auto method = parser.get().method();
      bool upload = method == http::verb::put || method == http::verb::post;
      const bool streams = upload && options_.stream_body && options_.stream_body(parser.get());
      const uint64_t limit = streams  ? options_.stream_body_limit
                             : upload ? options_.body_limit
                                      : std::min<uint64_t>(options_.body_limit, 64 * 1024);
      parser.body_limit(limit);
      auto length = parser.content_length();
      if (length && *length > limit) {
        refused = InvalidArgument("request body of " + std::to_string(*length) +
                                  " bytes; at most " + std::to_string(limit) +
                                  (upload ? "" : " (only uploads may carry large bodies)"));
      } else if (upload && ExpectsContinue(parser.get())) {
        // The client waits for this before sending the body (curl does, for large uploads).
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec || !refused.ok()) {
        // answered below
      } else if (streams) {
        streamed = std::make_unique<RequestBody::Parser>(std::move(parser));
        streamed->body_limit(limit);
      } else if (upload &&
                 !reserved.Take(std::min(length.value_or(options_.body_limit), options_.body_limit),
                                options_.buffered_body_budget)) {
        refused = ResourceExhausted("too many request bodies being received; retry shortly")
                      .WithDetail(StatusDetail::kOverloaded)
                      .WithRetryAfter(std::chrono::seconds(1));
      } else if (upload && length && *length >= kDirectBodyBytes &&
                 *length <= options_.body_limit && !parser.chunked()) {
        // Large bodies (KV values) are read straight into the request's string with reads as
        // large as the socket gives: Beast's parser reads 64 KiB per event-loop turn, which made
        // a 1 MiB PUT cost ~16 turns.
        std::string body(*length, '\0');
        size_t have = std::min<size_t>(buffer.size(), *length);
        asio::buffer_copy(asio::buffer(body.data(), have), buffer.data());
        buffer.consume(have);
        co_await asio::async_read(stream, asio::buffer(body.data() + have, *length - have),
                                  TransferAllLarge, asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
          direct_body = std::move(body);
          direct = true;
        }
      } else {
        co_await http::async_read(stream, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == beast::error::timeout) {
      break;
    }
    auto start = std::chrono::steady_clock::now();
    if (ec || !refused.ok()) {
      int status = 400;
      Status why = InvalidArgument("malformed HTTP request: " + ec.message());
      if (!refused.ok()) {
        status = HttpStatusFor(refused);
        why = refused;
        if (refused.code() == StatusCode::kInvalidArgument) status = 413;
      } else if (ec == http::error::header_limit) {
        status = 431;
        why = InvalidArgument("request headers larger than " +
                              std::to_string(options_.header_limit) + " bytes");
      } else if (ec == http::error::body_limit) {
        status = 413;
        why = InvalidArgument("request body too large (streamed uploads: at most " +
                              std::to_string(options_.stream_body_limit) +
                              " bytes; other uploads: " + std::to_string(options_.body_limit) +
                              "; other requests: 64 KiB)");
      }
      ResponseWriter writer(stream, false, false, &options_.error_format);
      writer.set_frontend("http");
      co_await writer.SendError(status, why);
      Record("http", status, 0, 0);
      break;
    }
    Request req;
    if (streamed) {
      req.base() = streamed->get().base();
    } else {
      req = parser.release();
      if (direct) req.body() = std::move(direct_body);
    }
    RequestBody body;
    if (streamed) body = RequestBody(stream, buffer, std::move(streamed), options_.idle_timeout);
    ResponseWriter writer(stream, req.method() == http::verb::head,
                          req.keep_alive() && !over_limit && !draining_, &options_.error_format);
    if (over_limit) {
      co_await writer.SendError(ResourceExhausted("too many connections; retry shortly")
                                    .WithDetail(StatusDetail::kOverloaded)
                                    .WithRetryAfter(std::chrono::seconds(1)));
    } else {
      co_await handler_(req, body, writer);
      if (!writer.started()) {
        co_await writer.SendError(500, Internal("handler sent no response"));
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Record(writer.frontend(), writer.status(), secs, writer.body_bytes());
    // A body not read to its end leaves the connection mid-request: it cannot carry another.
    if (!writer.keep_alive() || writer.failed() || !body.done()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace unicache

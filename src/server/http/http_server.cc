#include "server/http/http_server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <nlohmann/json.hpp>

#include "common/http_answer.h"

namespace unicache {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {
// Bodies at least this large are read without the parser (see Serve()).
constexpr uint64_t kDirectBodyBytes = 256 * 1024;

// Completion condition for whole-body reads and writes: as many bytes per system call as the
// socket takes. Asio's transfer_all caps each call at 64 KiB, so a 1 MiB answer cost 16 sendmsg
// calls, each waking the reader; this is most of the CPU a large GET costs on loopback.
size_t TransferAllLarge(const boost::system::error_code& ec, size_t /*transferred*/) {
  return ec ? 0 : size_t{64} << 20;
}
}  // namespace
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

asio::awaitable<void> ResponseWriter::SendError(int status, const Status& error,
                                                const HttpHeaders& headers) {
  HttpHeaders with_reason = headers;
  if (std::optional<std::chrono::milliseconds> wait = error.retry_after()) {
    const int64_t seconds = (wait->count() + 999) / 1000;  // Retry-After counts whole seconds
    with_reason.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, seconds)));
  }
  if (!head_only_) {
    co_return co_await Send(status, ErrorBody(error), "application/json", with_reason);
  }
  // A HEAD answer has no body: the reason goes in a header, on one line.
  std::string reason = error.message().substr(0, 512);
  for (char& c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  with_reason.emplace_back(kErrorHeader, std::move(reason));
  co_await Send(status, ErrorBody(error), "application/json", with_reason);
}

// ---- HttpServer ----

struct HttpServer::Loop {
  asio::io_context io{1};
  std::unique_ptr<tcp::acceptor> acceptor;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler, MetricsRegistry* metrics)
    : options_(std::move(options)), handler_(std::move(handler)), metrics_(metrics) {
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

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  for (auto& loop : loops_) loop->io.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

asio::awaitable<void> HttpServer::Accept(Loop& loop) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await loop.acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(loop.io, Serve(beast::tcp_stream(std::move(socket))), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("connection ended by an exception: {}", ex.what());
      }
    });
  }
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

asio::awaitable<void> HttpServer::Serve(beast::tcp_stream stream) {
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
    parser.body_limit(options_.body_limit);
    boost::system::error_code ec;
    stream.expires_after(options_.idle_timeout);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && !parser.is_done()) {
      // Only uploads may carry large bodies; anything else gets a small limit, so a GET with a
      // huge body cannot make the node buffer it.
      auto method = parser.get().method();
      bool upload = method == http::verb::put || method == http::verb::post;
      if (!upload) parser.body_limit(std::min<uint64_t>(options_.body_limit, 64 * 1024));
      auto length = parser.content_length();
      if (upload && length && *length >= kDirectBodyBytes && *length <= options_.body_limit &&
          !parser.chunked()) {
        // Large bodies (KV values, uploads) are read straight into the request's string with
        // reads as large as the socket gives: Beast's parser reads 64 KiB per event-loop turn,
        // which made a 1 MiB PUT cost ~16 turns.
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
    if (ec) {
      int status = 400;
      std::string why = "malformed HTTP request: " + ec.message();
      if (ec == http::error::header_limit) {
        status = 431;
        why = "request headers larger than " + std::to_string(options_.header_limit) + " bytes";
      } else if (ec == http::error::body_limit) {
        status = 413;
        why = "request body too large (uploads: at most " + std::to_string(options_.body_limit) +
              " bytes; other requests: 64 KiB)";
      }
      ResponseWriter writer(stream, false, false);
      writer.set_frontend("http");
      co_await writer.SendError(status, InvalidArgument(why));
      Record("http", status, 0, 0);
      break;
    }
    Request req = parser.release();
    if (direct) req.body() = std::move(direct_body);
    ResponseWriter writer(stream, req.method() == http::verb::head,
                          req.keep_alive() && !over_limit);
    if (over_limit) {
      co_await writer.SendError(ResourceExhausted("too many connections; retry shortly")
                                    .WithDetail(StatusDetail::kOverloaded)
                                    .WithRetryAfter(std::chrono::seconds(1)));
    } else {
      co_await handler_(req, writer);
      if (!writer.started()) {
        co_await writer.SendError(500, Internal("handler sent no response"));
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Record(writer.frontend(), writer.status(), secs, writer.body_bytes());
    if (!writer.keep_alive() || writer.failed()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace unicache

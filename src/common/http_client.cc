#include "common/http_client.h"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "common/text.h"

namespace unicache {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

// A large body is received in pieces of up to this size: the kernel wakes the receiving thread
// once this much has arrived (SO_RCVLOWAT) instead of at every segment the sender writes. On
// virtual machines a wake-up (a context switch) costs more than copying tens of KiB.
constexpr size_t kReceiveBatch = 1 << 20;

struct Transfer {
  const curl_socket_t* socket;  // the handle's connection, or CURL_SOCKET_BAD
  HttpResponse* resp;
  const HttpRequest* req;
  uint64_t body_length = 0;  // Content-Length of a 2xx response; 0 when unknown
  int low_water = 1;         // SO_RCVLOWAT set on the connection by this transfer
  Status stream_error;       // what body_stream returned when it stopped the transfer
  bool overflow = false;
  bool head_checked = false;  // req->check_head ran on this response
  int status = 0;             // of the response being received, from its status line
  uint64_t sent = 0;          // body bytes pulled from req->body_source
};

// libcurl's read callback: pulls the next body bytes from the request's body_source.
size_t OnUpload(char* buf, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const uint64_t left = t->req->body_source_size - t->sent;
  if (left == 0) return 0;
  std::span<std::byte> dst(reinterpret_cast<std::byte*>(buf),
                           static_cast<size_t>(std::min<uint64_t>(size * nitems, left)));
  Result<size_t> n = t->req->body_source(dst);
  if (n.ok() && *n == 0) {
    n = InvalidArgument("the body ended after " + std::to_string(t->sent) + " of " +
                        std::to_string(t->req->body_source_size) + " bytes");
  }
  if (!n.ok()) {
    t->stream_error = n.status();
    return CURL_READFUNC_ABORT;
  }
  t->sent += *n;
  return *n;
}

// Runs the request's check_head on a 2xx response once; false when it refused the response.
bool CheckHead(Transfer& t) {
  if (t.head_checked || !t.req->check_head) return true;
  t.head_checked = true;
  t.resp->status = t.status;
  t.stream_error = t.req->check_head(*t.resp);
  return t.stream_error.ok();
}

// Sets the connection's receive low-water mark, when it changes. Errors are ignored: it only
// batches wake-ups.
void SetLowWater(Transfer& t, int bytes) {
  if (bytes == t.low_water || *t.socket == CURL_SOCKET_BAD) return;
  if (setsockopt(*t.socket, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes)) == 0) {
    t.low_water = bytes;
  }
}

// After a piece of a body of known length: wakes for every kReceiveBatch bytes while at least
// twice that is left, and for every segment after. Never for more than the socket will still
// get, or the last bytes would wait for the transfer's timeout: the margin covers what a TLS
// library has read ahead of the body delivered (records of 16 KiB).
void BatchWakeUps(Transfer& t) {
  if (t.body_length == 0) return;
  uint64_t left = t.body_length > t.resp->body_bytes ? t.body_length - t.resp->body_bytes : 0;
  SetLowWater(t, left >= 2 * kReceiveBatch ? static_cast<int>(kReceiveBatch) : 1);
}

// Record the socket a handle opens and forget it when closed: the connection its transfers use.
int OnSocketOpened(void* socket, curl_socket_t fd, curlsocktype) {
  *static_cast<curl_socket_t*>(socket) = fd;
  return CURL_SOCKOPT_OK;
}

int OnSocketClosed(void* socket, curl_socket_t fd) {
  auto* recorded = static_cast<curl_socket_t*>(socket);
  if (*recorded == fd) *recorded = CURL_SOCKET_BAD;
  return ::close(fd);
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  const bool success = t->status >= 200 && t->status < 300;
  if (success && t->body_length == 0 && t->resp->body_bytes == 0) {
    auto it = t->resp->headers.find("content-length");
    if (it != t->resp->headers.end())
      t->body_length = std::strtoull(it->second.c_str(), nullptr, 10);
  }
  if (success && !CheckHead(*t)) return 0;  // aborts the transfer
  if (t->req->body_stream && success) {
    t->resp->status = t->status;
    t->stream_error = t->req->body_stream(*t->resp, std::as_bytes(std::span(data, len)));
    if (!t->stream_error.ok()) return 0;  // aborts the transfer
    t->resp->body_bytes += len;
    BatchWakeUps(*t);
    return len;
  }
  // Only a success body goes to the caller's buffer; an error body is kept for the message.
  const std::span<std::byte> sink = t->req->body_sink;
  if (!sink.empty() && success) {
    if (t->resp->body_bytes + len > sink.size()) {
      t->overflow = true;
      return 0;  // aborts the transfer
    }
    std::memcpy(sink.data() + t->resp->body_bytes, data, len);
    t->resp->body_bytes += len;
    BatchWakeUps(*t);
    return len;
  }
  t->resp->body.append(data, len);
  t->resp->body_bytes += len;
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();  // a new response (e.g. after 100-continue)
    size_t sp = line.find(' ');
    t->status =
        sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name = AsciiLower(line.substr(0, colon));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->resp->headers[name] = std::string(value);
  return len;
}

using ShareLocks = std::array<ForkSafeMutex, 8>;

ForkSafeMutex& ShareLock(curl_lock_data data, void* locks) {
  auto& all = *static_cast<ShareLocks*>(locks);
  return all[static_cast<size_t>(data) % all.size()];
}

void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* locks) {
  ShareLock(data, locks).lock();
}

void UnlockShare(CURL*, curl_lock_data data, void* locks) { ShareLock(data, locks).unlock(); }

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

HttpClient::HttpClient() : pid_(::getpid()) {
  static CurlGlobal global;
  (void)global;
  CURLSH* share = curl_share_init();
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share, CURLSHOPT_USERDATA, &share_locks_);
  curl_share_setopt(share, CURLSHOPT_LOCKFUNC, LockShare);
  curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, UnlockShare);
  share_ = share;
}

struct HttpClient::Handle {
  CURL* curl = nullptr;
  curl_socket_t socket = CURL_SOCKET_BAD;  // the connection it last opened, while open
};

HttpClient::~HttpClient() {
  DropInheritedLocked();  // no lock: nobody else may use a client being destroyed
  for (Handle* h : idle_) {
    curl_easy_cleanup(h->curl);
    delete h;
  }
  curl_share_cleanup(static_cast<CURLSH*>(share_));
}

void HttpClient::DropInheritedLocked() {
  const int pid = ::getpid();
  if (pid == pid_) return;
  for (Handle* h : idle_) {
    if (h->socket != CURL_SOCKET_BAD) ::close(h->socket);  // sends nothing: the parent holds it
    // `h` and its curl handle are leaked on purpose (see the class comment).
  }
  idle_.clear();
  pid_ = pid;
}

HttpClient::Handle* HttpClient::Acquire() {
  {
    std::lock_guard lock(mu_);
    DropInheritedLocked();
    if (!idle_.empty()) {
      Handle* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  CURL* curl = curl_easy_init();
  return curl == nullptr ? nullptr : new Handle{curl};
}

void HttpClient::Release(Handle* handle) {
  {
    std::lock_guard lock(mu_);
    if (idle_.size() < 64 && pid_ == ::getpid()) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(handle->curl);
  delete handle;
}

int HttpClient::OnProgress(void* client, int64_t, int64_t, int64_t, int64_t) {
  return static_cast<HttpClient*>(client)->cancelled_.load() ? 1 : 0;  // non-zero aborts
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& req) {
  if (cancelled_.load()) return Unavailable("request cancelled: stopping (" + req.method + ")");
  Handle* handle = Acquire();
  if (handle == nullptr) return Internal("curl_easy_init failed");
  CURL* curl = handle->curl;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, OnSocketOpened);
  curl_easy_setopt(curl, CURLOPT_SOCKOPTDATA, &handle->socket);
  curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, OnSocketClosed);
  curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, &handle->socket);
  HttpResponse resp;
  Transfer transfer{&handle->socket, &resp, &req};
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_SHARE, static_cast<CURLSH*>(share_));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (req.body_source) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_source_size));
  } else if (req.method == "PUT" || req.method == "POST" || !req.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }

  CURLcode rc = curl_easy_perform(curl);
  // A refused answer whose (empty) body is in: the connection it came on is not reused.
  const bool refused =
      rc == CURLE_OK && transfer.status >= 200 && transfer.status < 300 && !CheckHead(transfer);
  SetLowWater(transfer, 1);  // the connection may be reused: its next response starts small
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  if (refused) {
    curl_easy_cleanup(curl);
    delete handle;
  } else {
    Release(handle);
  }

  if (!transfer.stream_error.ok()) return transfer.stream_error;
  if (transfer.overflow) {
    return ResourceExhausted("response body larger than the " +
                             std::to_string(req.body_sink.size()) + "-byte buffer");
  }
  if (rc != CURLE_OK) {
    std::string what = std::string(curl_easy_strerror(rc)) + " (" + req.method + " " +
                       req.url.substr(0, req.url.find('?')) + ")";
    if (rc == CURLE_OPERATION_TIMEDOUT) return DeadlineExceeded(what);
    if (rc == CURLE_ABORTED_BY_CALLBACK) return Unavailable("request cancelled: stopping: " + what);
    return Unavailable(what);
  }
  resp.status = static_cast<int>(code);
  return resp;
}

}  // namespace unicache

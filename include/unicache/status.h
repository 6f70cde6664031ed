// Status and Result<T>: errors as values (no exceptions cross a module boundary).
#pragma once

#include <cassert>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace unicache {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller's input is wrong; do not retry
  kNotFound,         // object, block, key or origin does not exist
  kAlreadyExists,
  kPermissionDenied,    // bad credentials, or a path outside the allowed root
  kOutOfRange,          // e.g. a byte range past the end of an object
  kPreconditionFailed,  // the object changed (ETag/If-Match mismatch)
  kResourceExhausted,   // a bound was hit (quota, queue, memory); retry later
  kUnavailable,         // transient: peer or origin down, throttled, 5xx; retryable
  kDeadlineExceeded,    // a deadline passed; retryable
  kChecksumMismatch,    // stored bytes are corrupt
  kUnimplemented,
  kInternal,
};

// Returns the lower-case name of `code`, e.g. "not_found".
std::string_view StatusCodeName(StatusCode code);

// What more an error says than its code, where callers act on the difference.
enum class StatusDetail {
  kNone = 0,
  kQuotaExceeded,  // ResourceExhausted: a namespace or tier quota is full (HTTP 507)
  kOverloaded,     // ResourceExhausted: this node is at a bound (connections, a queue); retry
                   // after retry_after() (HTTP 503)
};

// Returns the lower-case name of `detail`, e.g. "quota_exceeded"; "" for kNone.
std::string_view StatusDetailName(StatusDetail detail);
// Returns the detail named `name`, kNone for "" or a name this version does not know.
StatusDetail StatusDetailFromName(std::string_view name);

// A success or an error code with a message, a detail, and, for a retryable error, how long the
// server asked to be left alone (its Retry-After). Cheap to copy when ok. Thread-compatible.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Returns true for errors that may succeed when tried again (Unavailable, DeadlineExceeded,
  // an overloaded server's ResourceExhausted).
  bool retryable() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kDeadlineExceeded ||
           (code_ == StatusCode::kResourceExhausted && detail_ == StatusDetail::kOverloaded);
  }
  // Returns "code: message", or "ok".
  std::string ToString() const;
  // Returns a copy with `context` prepended to the message ("context: message").
  Status WithContext(std::string_view context) const;
  // Returns a copy that carries `wait`: the server's Retry-After, for the retry layer.
  Status WithRetryAfter(std::chrono::milliseconds wait) const {
    Status s = *this;
    s.retry_after_ = wait;
    return s;
  }
  // Returns the server's Retry-After, when the error carries one.
  std::optional<std::chrono::milliseconds> retry_after() const { return retry_after_; }
  // Returns a copy that carries `detail`.
  Status WithDetail(StatusDetail detail) const {
    Status s = *this;
    s.detail_ = detail;
    return s;
  }
  StatusDetail detail() const { return detail_; }
  // Marks the status as deliberately ignored.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::optional<std::chrono::milliseconds> retry_after_;
  StatusDetail detail_ = StatusDetail::kNone;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status PreconditionFailed(std::string m) {
  return {StatusCode::kPreconditionFailed, std::move(m)};
}
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status ChecksumMismatch(std::string m) {
  return {StatusCode::kChecksumMismatch, std::move(m)};
}
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Status with errno's text: "<what>: <strerror(err)>", code chosen from errno.
Status ErrnoStatus(std::string_view what, int err);

// Either a value of T or a non-ok Status. Thread-compatible.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // Returns the error, or Ok when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace unicache

#define UNICACHE_CONCAT_INNER(a, b) a##b
#define UNICACHE_CONCAT(a, b) UNICACHE_CONCAT_INNER(a, b)

// Returns from the current function when `expr` (a Status) is not ok. Prefixed, so that this
// header adds no short macro names to its users' code.
#define UNICACHE_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::unicache::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

// Evaluates `rexpr` (a Result<T>); returns its error, or assigns its value to `lhs`.
#define UNICACHE_ASSIGN_OR_RETURN(lhs, rexpr) \
  UNICACHE_ASSIGN_OR_RETURN_IMPL(UNICACHE_CONCAT(_result_, __LINE__), lhs, rexpr)
#define UNICACHE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()

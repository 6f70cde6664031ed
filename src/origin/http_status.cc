#include "origin/http_status.h"

#include <charconv>
#include <ctime>

namespace unicache {
namespace {

constexpr std::string_view kRetryTag = " [retry-after-ms=";

}  // namespace

Status HttpErrorStatus(const HttpResponse& resp, std::string_view what,
                       std::string_view error_code) {
  std::string msg = std::string(what) + ": HTTP " + std::to_string(resp.status);
  if (!error_code.empty()) msg += " " + std::string(error_code);
  int s = resp.status;
  if (s == 404) return NotFound(std::move(msg));
  if (s == 412) return PreconditionFailed(std::move(msg));
  if (s == 401 || s == 403) return PermissionDenied(std::move(msg));
  if (s == 408) return DeadlineExceeded(std::move(msg));
  if (s == 416) return OutOfRange(std::move(msg));
  if (s == 429 || s >= 500) {
    auto hint = ParseRetryAfter(resp.Header("retry-after"));
    if (hint) return UnavailableRetryAfter(std::move(msg), *hint);
    return Unavailable(std::move(msg));
  }
  return InvalidArgument(std::move(msg));
}

Status UnavailableRetryAfter(std::string message, std::chrono::milliseconds retry_after) {
  return Unavailable(std::move(message) + std::string(kRetryTag) +
                     std::to_string(retry_after.count()) + "]");
}

std::optional<std::chrono::milliseconds> RetryAfterOf(const Status& status) {
  if (status.code() != StatusCode::kUnavailable) return std::nullopt;
  const std::string& m = status.message();
  size_t pos = m.rfind(kRetryTag);
  if (pos == std::string::npos) return std::nullopt;
  const char* begin = m.data() + pos + kRetryTag.size();
  long long ms = 0;
  auto [end, ec] = std::from_chars(begin, m.data() + m.size(), ms);
  if (ec != std::errc() || end == m.data() + m.size() || *end != ']' || ms < 0) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(ms);
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long secs = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
  if (ec == std::errc() && end == value.data() + value.size()) {
    if (secs < 0) return std::nullopt;
    return std::chrono::milliseconds(secs * 1000);
  }
  // An HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  std::string text(value);
  if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  time_t when = timegm(&tm);
  time_t now = std::time(nullptr);
  return std::chrono::milliseconds(when > now ? (when - now) * 1000LL : 0);
}

}  // namespace unicache

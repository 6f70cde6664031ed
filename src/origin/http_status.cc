#include "origin/http_status.h"

#include <charconv>

#include "common/http_date.h"

namespace unicache {

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
    if (hint) return Unavailable(std::move(msg)).WithRetryAfter(*hint);
    return Unavailable(std::move(msg));
  }
  return InvalidArgument(std::move(msg));
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
  // An HTTP date: how long from now.
  std::optional<int64_t> when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return std::chrono::milliseconds(*when > now ? *when - now : 0);
}

}  // namespace unicache

#include "origin/http_status.h"

#include "common/http_date.h"
#include "common/text.h"

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
  value = TrimSpace(value);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    std::optional<int64_t> secs = ParseDecimal<int64_t>(value);
    if (!secs || *secs > INT64_MAX / 1000) return std::nullopt;
    return std::chrono::milliseconds(*secs * 1000);
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

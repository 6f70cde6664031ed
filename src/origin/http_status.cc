#include "origin/http_status.h"

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

}  // namespace unicache

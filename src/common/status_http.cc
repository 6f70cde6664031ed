#include "common/status_http.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "common/http_answer.h"
#include "common/http_date.h"

namespace unicache {
namespace {

constexpr StatusCode kAllCodes[] = {
    StatusCode::kInvalidArgument,   StatusCode::kNotFound,      StatusCode::kAlreadyExists,
    StatusCode::kPermissionDenied,  StatusCode::kOutOfRange,    StatusCode::kPreconditionFailed,
    StatusCode::kResourceExhausted, StatusCode::kUnavailable,   StatusCode::kDeadlineExceeded,
    StatusCode::kChecksumMismatch,  StatusCode::kUnimplemented, StatusCode::kInternal};

std::optional<StatusCode> CodeFromName(std::string_view name) {
  for (StatusCode c : kAllCodes) {
    if (StatusCodeName(c) == name) return c;
  }
  return std::nullopt;
}

// The Status an HTTP status alone says, for answers without a unicache error body (a proxy's,
// an older node's).
Status FromHttpStatus(int http, std::string message) {
  switch (http) {
    case 400:
    case 413:
      return InvalidArgument(std::move(message));
    case 401:
    case 403:
      return PermissionDenied(std::move(message));
    case 404:
      return NotFound(std::move(message));
    case 405:
    case 501:
      return Unimplemented(std::move(message));
    case 409:
      return AlreadyExists(std::move(message));
    case 412:
      return PreconditionFailed(std::move(message));
    case 416:
      return OutOfRange(std::move(message));
    case 504:
      return DeadlineExceeded(std::move(message));
    case 507:
      return ResourceExhausted(std::move(message)).WithDetail(StatusDetail::kQuotaExceeded);
    default:
      return http >= 500 || http == 429 ? Unavailable(std::move(message))
                                        : InvalidArgument(std::move(message));
  }
}

}  // namespace

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kOutOfRange:
      return 416;
    case StatusCode::kPreconditionFailed:
      return 412;
    case StatusCode::kResourceExhausted:
      return status.detail() == StatusDetail::kQuotaExceeded ? 507 : 503;
    case StatusCode::kUnavailable:
    case StatusCode::kChecksumMismatch:
      return 502;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

std::string ErrorBody(const Status& status) {
  nlohmann::json j = {{"error", status.message()}, {"code", StatusCodeName(status.code())}};
  if (status.detail() != StatusDetail::kNone) j["detail"] = StatusDetailName(status.detail());
  return j.dump() + "\n";
}

Status StatusFromAnswer(const HttpResponse& resp, std::string_view what) {
  std::string message = std::string(what) + ": HTTP " + std::to_string(resp.status);
  Status status;
  auto body = nlohmann::json::parse(resp.body, nullptr, false);
  std::optional<StatusCode> code;
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    message += ": " + body["error"].get<std::string>();
    if (body.contains("code") && body["code"].is_string()) {
      code = CodeFromName(body["code"].get<std::string>());
    }
  } else if (std::string reason = resp.Header(kErrorHeader); !reason.empty()) {
    message += ": " + reason;  // an answer to HEAD states its reason in a header
  }
  status =
      code ? Status(*code, std::move(message)) : FromHttpStatus(resp.status, std::move(message));
  if (body.is_object() && body.contains("detail") && body["detail"].is_string()) {
    status = status.WithDetail(StatusDetailFromName(body["detail"].get<std::string>()));
  }
  if (std::optional<std::chrono::milliseconds> wait = ParseRetryAfter(resp.Header("retry-after"))) {
    status = status.WithRetryAfter(*wait);
  }
  return status;
}

}  // namespace unicache

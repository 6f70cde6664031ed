#include "client/transport.h"

#include <nlohmann/json.hpp>

#include "common/http_answer.h"

namespace unicache {
namespace {

// Forwards to HttpClient. Thread-safe (HttpClient pools curl handles).
class HttpTransport : public Transport {
 public:
  Result<HttpResponse> Send(const HttpRequest& req) override { return http_.Send(req); }

 private:
  HttpClient http_;
};

}  // namespace

std::unique_ptr<Transport> NewHttpTransport() { return std::make_unique<HttpTransport>(); }

Status StatusFromResponse(const HttpResponse& resp, const std::string& what) {
  std::string message = what + ": HTTP " + std::to_string(resp.status);
  auto body = nlohmann::json::parse(resp.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    message += ": " + body["error"].get<std::string>();
  } else if (std::string reason = resp.Header(kErrorHeader); !reason.empty()) {
    message += ": " + reason;  // an answer to HEAD states its reason in a header
  }
  switch (resp.status) {
    case 400:
      return InvalidArgument(message);
    case 403:
      return PermissionDenied(message);
    case 404:
      return NotFound(message);
    case 405:
      return Unimplemented(message);
    case 412:
      return PreconditionFailed(message);
    case 416:
      return OutOfRange(message);
    case 429:
    case 503:
      return Unavailable(message);
    case 504:
      return DeadlineExceeded(message);
    default:
      return resp.status >= 500 ? Unavailable(message) : InvalidArgument(message);
  }
}

}  // namespace unicache

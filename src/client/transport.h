// Transport: how the native client sends one HTTP request to a node. The real implementation
// wraps HttpClient; tests use the in-memory FakeTransport (fake_transport.h).
#pragma once

#include <memory>

#include "common/http_client.h"
#include "common/status.h"

namespace unicache {

// Sends requests to nodes. Implementations are thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `req` and returns the response of any HTTP status. Transport failures are
  // Unavailable (refused, reset) or DeadlineExceeded (timeout), as HttpClient::Send.
  virtual Result<HttpResponse> Send(const HttpRequest& req) = 0;
};

// Returns a Transport over libcurl (HttpClient), keeping connections alive.
std::unique_ptr<Transport> NewHttpTransport();

}  // namespace unicache

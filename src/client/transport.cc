#include "client/transport.h"

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

}  // namespace unicache

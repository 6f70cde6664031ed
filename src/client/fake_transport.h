// FakeTransport: an in-memory Transport for tests. Each address is served by a handler
// function; an address without a handler (or marked down) refuses connections.
#pragma once

#include <atomic>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "client/transport.h"

namespace unicache {

// Thread-safe: handlers run outside the lock and must themselves be thread-safe.
class FakeTransport : public Transport {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest& req)>;

  // Serves requests to "http://<address>/..." with `handler`.
  void Serve(const std::string& address, Handler handler) {
    std::lock_guard lock(mu_);
    handlers_[address] = std::move(handler);
  }
  // Makes `address` refuse connections (down = true) or serve again.
  void SetDown(const std::string& address, bool down) {
    std::lock_guard lock(mu_);
    if (down) {
      down_.insert(address);
    } else {
      down_.erase(address);
    }
  }
  // Returns the addresses requests were sent to, in order (including refused ones).
  std::vector<std::string> Calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  void ClearCalls() {
    std::lock_guard lock(mu_);
    calls_.clear();
  }

  Result<HttpResponse> Send(const HttpRequest& req) override {
    std::string rest = req.url.substr(req.url.find("://") + 3);
    std::string address = rest.substr(0, rest.find('/'));
    Handler handler;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(address);
      auto it = handlers_.find(address);
      if (it == handlers_.end() || down_.count(address)) {
        return Unavailable("connection refused: " + address);
      }
      handler = it->second;
    }
    HttpResponse resp = handler(req);
    // As HttpClient: a 2xx answer is checked before its body goes anywhere.
    if (req.check_head && resp.status / 100 == 2) RETURN_IF_ERROR(req.check_head(resp));
    if (!req.body_sink.empty() && resp.status / 100 == 2) {
      if (resp.body.size() > req.body_sink.size()) return ResourceExhausted("body too long");
      std::memcpy(req.body_sink.data(), resp.body.data(), resp.body.size());
      resp.body_bytes = resp.body.size();
      resp.body.clear();
    } else {
      resp.body_bytes = resp.body.size();
    }
    return resp;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  std::set<std::string> down_;
  std::vector<std::string> calls_;
};

}  // namespace unicache

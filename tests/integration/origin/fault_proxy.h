// A tiny fault-injecting HTTP/1.1 proxy on 127.0.0.1 for origin tests: the first requests get
// 503 + Retry-After or a dropped connection, later ones are forwarded to the real server.
#pragma once

#include <atomic>
#include <thread>

namespace unicache::testing {

// Serves one connection at a time on its own thread. Thread-safe counters; start/stop from one
// thread.
class FaultProxy {
 public:
  // Listens on a free port; forwards to 127.0.0.1:`upstream_port` after `throttle` requests
  // answered 503 (Retry-After: `retry_after_s`) and then `drop` connections closed unanswered.
  FaultProxy(int upstream_port, int throttle, int drop, int retry_after_s = 1);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  int requests() const { return requests_.load(); }
  int faults() const { return faults_.load(); }

 private:
  void Serve();
  void Handle(int client);

  const int upstream_port_;
  const int throttle_;
  const int drop_;
  const int retry_after_s_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> faults_{0};
  std::thread thread_;
};

}  // namespace unicache::testing

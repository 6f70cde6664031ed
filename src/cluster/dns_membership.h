// DnsMembership: members from the A/AAAA records of a name, re-resolved periodically (a
// Kubernetes headless service lists one record per ready pod).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cluster/membership.h"

namespace unicache {

// The name and port to resolve. Value type.
struct DnsTarget {
  std::string name;
  uint16_t port = 0;
};

// Parses "NAME[:PORT]" (the part after "dns:"); `default_port` (0 = none) applies when PORT is
// absent. Returns InvalidArgument for an empty name or a bad or missing port.
Result<DnsTarget> ParseDnsTarget(std::string_view spec, uint16_t default_port);

// Returns the distinct IP addresses `name` resolves to (IPv4 and IPv6, textual), sorted.
// Returns Unavailable when resolution fails.
Result<std::vector<std::string>> ResolveHost(const std::string& name);

struct DnsMembershipOptions {
  DnsTarget target;
  std::chrono::milliseconds interval{5000};
  // A member gone from the answers stays in the view this long (GracePeriod).
  std::chrono::milliseconds grace{0};
  // Resolves a name to IP addresses; ResolveHost by default. Tests substitute their own.
  std::function<Result<std::vector<std::string>>(const std::string&)> resolver;
};

// Resolves the target on its own thread every `interval`; each address becomes a member with
// id = address = "ip:port". A failed or empty resolution keeps the last good view; an address
// that drops out stays for `grace` (checked at each resolution). Members hold no slots (none
// can claim one), so DNS views are placed by rendezvous hashing. Thread-safe.
class DnsMembership : public Membership {
 public:
  static Result<std::unique_ptr<DnsMembership>> Create(DnsMembershipOptions options);
  ~DnsMembership() override;

  // Resolves once (failing with the resolver's error if that fails) and starts the thread.
  Status Start() override;
  void Stop() override;
  std::shared_ptr<const MemberView> Current() const override { return publisher_.Current(); }
  uint64_t Subscribe(Callback cb) override { return publisher_.Subscribe(std::move(cb)); }
  void Unsubscribe(uint64_t id) override { publisher_.Unsubscribe(id); }

 private:
  explicit DnsMembership(DnsMembershipOptions options) : options_(std::move(options)) {}
  // Resolves the target and publishes the result when it is non-empty.
  Status Refresh();
  void Loop();

  const DnsMembershipOptions options_;
  ViewPublisher publisher_;
  GracePeriod grace_{options_.grace};  // used by Refresh(), which runs on one thread at a time
  std::mutex mu_;                      // guards stopping_, thread_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace unicache

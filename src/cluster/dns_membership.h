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

// The name and port to resolve, and the DNS server to ask. Value type.
struct DnsTarget {
  std::string name;
  uint16_t port = 0;
  std::string server;  // an IPv4 address; "" = the system's resolver
  uint16_t server_port = 53;
};

// Parses "NAME[:PORT][@SERVER[:PORT]]" (the part after "dns:"); `default_port` (0 = none)
// applies when the member PORT is absent. A SERVER (an IPv4 address, port 53 by default) is
// asked directly instead of the system's resolver: a Consul agent (127.0.0.1:8600), a test's
// dnsmasq. Returns InvalidArgument for an empty name or a bad or missing port or server.
Result<DnsTarget> ParseDnsTarget(std::string_view spec, uint16_t default_port);

// Returns the distinct IP addresses `name` resolves to (IPv4 and IPv6, textual), sorted.
// Returns Unavailable when resolution fails.
Result<std::vector<std::string>> ResolveHost(const std::string& name);

// The same, asking the DNS server at `server`:`port` (IPv4) for A and AAAA records. A name
// with neither is an empty list; a server that does not answer is Unavailable.
Result<std::vector<std::string>> ResolveAt(const std::string& name, const std::string& server,
                                           uint16_t port);

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

// Membership: the interface every membership provider (static list, DNS, etcd) implements, the
// options parsed from --peers / --discovery, and the factory that picks a provider.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/member.h"
#include "common/status.h"

namespace unicache {

// A source of MemberViews. Implementations are thread-safe: Current() and Subscribe() may be
// called from any thread at any time, including before Start() (an empty view, version 0) and
// after Stop() (the last view).
class Membership {
 public:
  // Called with each new view, on the provider's thread (or the caller's, within Start()).
  // It must be quick and must not call Unsubscribe().
  using Callback = std::function<void(std::shared_ptr<const MemberView>)>;

  virtual ~Membership() = default;

  // Fetches the first view and starts any background refresh. A failure leaves the provider
  // stopped; Start() may then be called again.
  virtual Status Start() = 0;
  // Stops background work and leaves the cluster where the provider supports it (etcd revokes
  // its lease). Idempotent.
  virtual void Stop() = 0;
  // Returns the latest view; never null.
  virtual std::shared_ptr<const MemberView> Current() const = 0;
  // Registers `cb` for every later change; returns an id for Unsubscribe().
  virtual uint64_t Subscribe(Callback cb) = 0;
  // Removes a callback; after it returns the callback is not running and will not run again.
  virtual void Unsubscribe(uint64_t id) = 0;
};

// Holds the current view and the subscribers for a provider; providers call Publish(). Keeps
// views sorted by id and bumps the version only when the member set changes. Thread-safe;
// callbacks run without the view lock held, one Publish() at a time.
class ViewPublisher {
 public:
  ViewPublisher();

  // Makes `members` the current view when it differs from the current one, with version
  // max(current + 1, `version_hint`), and notifies subscribers. Returns true when it changed.
  bool Publish(std::vector<Member> members, std::optional<uint64_t> version_hint = std::nullopt);
  std::shared_ptr<const MemberView> Current() const;
  uint64_t Subscribe(Membership::Callback cb);
  void Unsubscribe(uint64_t id);

 private:
  mutable std::mutex mu_;  // guards current_, callbacks_, next_id_
  std::mutex notify_mu_;   // held while callbacks run; lock order: notify_mu_, then mu_
  std::shared_ptr<const MemberView> current_;
  std::map<uint64_t, Membership::Callback> callbacks_;
  uint64_t next_id_ = 1;
};

// Keeps a member that left in the view for a grace period, so that a member restarting or
// flapping moves no keys: placement changes only when it stays away longer. A member back
// within the period comes back as it is now. Not thread-safe: a provider calls it under its
// own lock.
class GracePeriod {
 public:
  using Clock = std::chrono::steady_clock;

  explicit GracePeriod(std::chrono::milliseconds grace) : grace_(grace) {}

  // Returns `present` plus the members that left less than the grace period before `now`
  // (each provider's answer at `now` is `present`).
  std::vector<Member> Apply(std::vector<Member> present, Clock::time_point now);
  // Returns when the next departed member's grace period ends, if one is running.
  std::optional<Clock::time_point> NextExpiry() const;

 private:
  const std::chrono::milliseconds grace_;
  std::map<std::string, Member> present_;  // by id, as of the last Apply()
  std::map<std::string, std::pair<Member, Clock::time_point>> departed_;  // id -> (member, until)
};

// Settings for OpenMembership(). Value type.
struct MembershipOptions {
  // --peers "host:port,host:port": a static list. Exclusive with `discovery`.
  std::string peers;
  // --discovery "dns:NAME[:PORT]" or "etcd:http://H:P[,http://H:P...][/prefix]".
  std::string discovery;
  // This node. etcd registers it; DNS uses its port when NAME has none; with neither flag the
  // cluster is this node alone.
  Member self;
  std::chrono::milliseconds dns_interval{5000};
  std::chrono::milliseconds etcd_ttl{10000};
  // How long a member that left stays in the view (GracePeriod); DNS and etcd.
  std::chrono::milliseconds member_grace{15000};
};

// Creates (but does not start) the provider the options name. Returns InvalidArgument for a
// malformed flag, both flags at once, or a missing self address where one is needed.
Result<std::unique_ptr<Membership>> OpenMembership(const MembershipOptions& options);

}  // namespace unicache

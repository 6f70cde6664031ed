#include "cluster/membership.h"

#include <algorithm>
#include <utility>

#include "cluster/dns_membership.h"
#include "cluster/etcd_membership.h"
#include "cluster/static_membership.h"

namespace unicache {
namespace {

// Returns `r`'s provider as the interface type, or its error.
template <typename T>
Result<std::unique_ptr<Membership>> AsMembership(Result<std::unique_ptr<T>> r) {
  if (!r.ok()) return r.status();
  return std::unique_ptr<Membership>(std::move(r).value());
}

}  // namespace

ViewPublisher::ViewPublisher() : current_(std::make_shared<const MemberView>()) {}

bool ViewPublisher::Publish(std::vector<Member> members, std::optional<uint64_t> version_hint) {
  std::sort(members.begin(), members.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  std::lock_guard notify(notify_mu_);
  std::shared_ptr<const MemberView> view;
  std::vector<Membership::Callback> callbacks;
  {
    std::lock_guard lock(mu_);
    if (current_->version != 0 && current_->members == members) return false;
    auto next = std::make_shared<MemberView>();
    next->version = std::max(current_->version + 1, version_hint.value_or(0));
    next->members = std::move(members);
    current_ = view = std::move(next);
    for (const auto& [id, cb] : callbacks_) callbacks.push_back(cb);
  }
  for (const auto& cb : callbacks) cb(view);
  return true;
}

std::shared_ptr<const MemberView> ViewPublisher::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

uint64_t ViewPublisher::Subscribe(Membership::Callback cb) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  callbacks_.emplace(id, std::move(cb));
  return id;
}

void ViewPublisher::Unsubscribe(uint64_t id) {
  std::lock_guard notify(notify_mu_);  // waits for a running notification to finish
  std::lock_guard lock(mu_);
  callbacks_.erase(id);
}

std::vector<Member> GracePeriod::Apply(std::vector<Member> present, Clock::time_point now) {
  std::map<std::string, Member> next;
  for (Member& m : present) {
    departed_.erase(m.id);
    next.emplace(m.id, m);
  }
  for (auto& [id, m] : present_) {
    if (!next.contains(id)) departed_.emplace(id, std::make_pair(std::move(m), now + grace_));
  }
  present_ = std::move(next);
  for (auto it = departed_.begin(); it != departed_.end();) {
    if (it->second.second <= now) {
      it = departed_.erase(it);
    } else {
      present.push_back(it->second.first);
      ++it;
    }
  }
  return present;
}

std::optional<GracePeriod::Clock::time_point> GracePeriod::NextExpiry() const {
  std::optional<Clock::time_point> next;
  for (const auto& [id, entry] : departed_) {
    if (!next || entry.second < *next) next = entry.second;
  }
  return next;
}

Result<std::unique_ptr<Membership>> OpenMembership(const MembershipOptions& options) {
  if (!options.peers.empty() && !options.discovery.empty()) {
    return InvalidArgument("give --peers or --discovery, not both");
  }
  if (!options.peers.empty()) return AsMembership(StaticMembership::Create(options.peers));
  if (options.discovery.empty()) {
    if (options.self.address.empty()) {
      return InvalidArgument("no --peers or --discovery, and no address for this node");
    }
    return AsMembership(StaticMembership::Create(options.self.address));
  }
  std::string_view d = options.discovery;
  if (d.starts_with("dns:")) {
    uint16_t default_port = 0;
    if (!options.self.address.empty()) {
      ASSIGN_OR_RETURN(HostPort self, ParseHostPort(options.self.address));
      default_port = self.port;
    }
    DnsMembershipOptions dns;
    dns.interval = options.dns_interval;
    dns.grace = options.member_grace;
    ASSIGN_OR_RETURN(dns.target, ParseDnsTarget(d.substr(4), default_port));
    return AsMembership(DnsMembership::Create(std::move(dns)));
  }
  if (d.starts_with("etcd:")) {
    EtcdMembershipOptions etcd;
    ASSIGN_OR_RETURN(etcd.endpoints, ParseEtcdTarget(d.substr(5), &etcd.prefix));
    etcd.self = options.self;
    if (etcd.self.id.empty()) etcd.self.id = etcd.self.address;
    etcd.ttl = options.etcd_ttl;
    etcd.grace = options.member_grace;
    return AsMembership(EtcdMembership::Create(std::move(etcd)));
  }
  return InvalidArgument("--discovery \"" + options.discovery + "\" must start with dns: or etcd:");
}

}  // namespace unicache

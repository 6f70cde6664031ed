#include "server/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "common/object_path.h"

namespace unicache {

Result<ReplicaRule> ParseReplicaRule(std::string_view text) {
  size_t eq = text.rfind('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument("bad replica rule '" + std::string(text) +
                           "': expected ORIGIN[/PREFIX]=N");
  }
  ReplicaRule rule;
  std::string_view target = text.substr(0, eq);
  std::string_view count = text.substr(eq + 1);
  auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), rule.replicas);
  if (ec != std::errc() || p != count.data() + count.size() || rule.replicas < 1 ||
      rule.replicas > 16) {
    return InvalidArgument("bad replica count in '" + std::string(text) + "': use 1..16");
  }
  size_t slash = target.find('/');
  rule.origin = std::string(target.substr(0, slash));
  if (slash != std::string_view::npos) rule.prefix = std::string(target.substr(slash + 1));
  RETURN_IF_ERROR(ValidatePrefix(rule.prefix));
  return rule;
}

Router::Router(Member self, std::unique_ptr<Membership> membership, RouterOptions options)
    : self_(std::move(self)),
      membership_(std::move(membership)),
      options_(std::move(options)),
      window_start_(std::chrono::steady_clock::now()) {}

Result<std::unique_ptr<Router>> Router::Start(Member self, std::unique_ptr<Membership> membership,
                                              RouterOptions options, MetricsRegistry* metrics) {
  std::unique_ptr<Router> router(
      new Router(std::move(self), std::move(membership), std::move(options)));
  router->members_gauge_ = &metrics->GetGauge("unicache_cluster_members", {},
                                              "Members in this node's current membership view.");
  Router* raw = router.get();
  router->subscription_ = router->membership_->Subscribe(
      [raw](std::shared_ptr<const MemberView> view) { raw->OnView(std::move(view)); });
  RETURN_IF_ERROR(router->membership_->Start().WithContext("membership"));
  router->OnView(router->membership_->Current());
  return router;
}

Router::~Router() {
  membership_->Unsubscribe(subscription_);
  membership_->Stop();
}

void Router::OnView(std::shared_ptr<const MemberView> view) {
  {
    // Start() hands over the current view, which the provider may have published already.
    std::lock_guard lock(ring_mu_);
    if (ring_ && ring_->version() == view->version) return;
  }
  Result<std::shared_ptr<const HashRing>> ring = HashRing::FromView(*view);
  if (!ring.ok()) {
    spdlog::warn("ignoring membership view {}: {}", view->version, ring.status().ToString());
    return;
  }
  std::vector<std::string> ids;
  for (const Member& m : view->members) ids.push_back(m.id);
  health_.Retain(ids);
  if (members_gauge_) members_gauge_->Set(static_cast<int64_t>(view->members.size()));
  spdlog::info("membership view {}: {} members", (*ring)->version(), (*ring)->size());
  std::lock_guard lock(ring_mu_);
  ring_ = std::move(ring).value();
}

std::shared_ptr<const HashRing> Router::ring() const {
  std::lock_guard lock(ring_mu_);
  return ring_;
}

size_t Router::ReplicasFor(const std::string& origin, const std::string& path) const {
  size_t best_len = 0;
  size_t replicas = options_.replicas;
  for (const ReplicaRule& r : options_.rules) {
    if (r.origin != origin || !path.starts_with(r.prefix)) continue;
    if (r.prefix.size() >= best_len) {
      best_len = r.prefix.size();
      replicas = r.replicas;
    }
  }
  return std::max<size_t>(1, replicas);
}

bool Router::Owns(const Key128& key, const std::string& origin, const std::string& path) const {
  auto r = ring();
  if (!r || r->empty()) return true;
  for (const Member* m : r->Owners(key, ReplicasFor(origin, path))) {
    if (m->id == self_.id) return true;
  }
  return false;
}

bool Router::CountForward(const Key128& key) {
  if (options_.hot_threshold == 0) return false;
  std::lock_guard lock(hot_mu_);
  auto now = std::chrono::steady_clock::now();
  if (now - window_start_ > std::chrono::seconds(1) || forwards_.size() > 100000) {
    forwards_.clear();
    window_start_ = now;
  }
  return ++forwards_[key] > options_.hot_threshold;
}

BlockPlan Router::Plan(const Key128& key, const std::string& origin, const std::string& path) {
  BlockPlan plan;
  plan.ring = ring();
  if (!plan.ring || plan.ring->empty()) {
    plan.fetch_from_origin = true;
    return plan;
  }
  size_t replicas = std::min(ReplicasFor(origin, path), plan.ring->size());
  // Owners first, then two more members in rendezvous order as fallbacks.
  std::vector<const Member*> ranked =
      plan.ring->Owners(key, std::min(plan.ring->size(), replicas + 2));
  auto self_at = std::find_if(ranked.begin(), ranked.end(),
                              [&](const Member* m) { return m->id == self_.id; });
  size_t self_rank = static_cast<size_t>(self_at - ranked.begin());
  if (self_rank == 0) {
    plan.fetch_from_origin = true;  // the primary owner reads the origin
    return plan;
  }
  std::vector<const Member*> owners(ranked.begin(), ranked.begin() + static_cast<long>(replicas));
  std::vector<const Member*> order;
  if (self_rank < replicas) {
    // A secondary replica copies from the primary (then the other replicas), so the origin is
    // read once however many replicas there are.
    plan.keep_copy = true;
    for (const Member* m : owners) {
      if (m->id != self_.id) order.push_back(m);
    }
  } else {
    // A non-owner spreads its reads over the replicas, starting at one picked by its own id.
    size_t start = Hash64(self_.id) % owners.size();
    for (size_t i = 0; i < owners.size(); ++i) order.push_back(owners[(start + i) % owners.size()]);
    plan.keep_copy = CountForward(key);
  }
  for (size_t i = replicas; i < ranked.size(); ++i) {
    if (ranked[i]->id != self_.id) order.push_back(ranked[i]);
  }
  plan.candidates = health_.Order(order);
  return plan;
}

}  // namespace unicache

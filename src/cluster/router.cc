#include "cluster/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace unicache {

Router::Router(Member self, std::unique_ptr<Membership> membership, RouterOptions options)
    : self_(std::move(self)),
      membership_(std::move(membership)),
      options_(std::move(options)),
      placement_(Placement::Create(MemberView{}, options_.replicas).value()),
      view_(std::make_shared<const MemberView>()),
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
    std::lock_guard lock(placement_mu_);
    if (!placement_->empty() && placement_->version() == view->version) return;
  }
  Result<std::shared_ptr<const Placement>> placement = Placement::Create(*view, options_.replicas);
  if (!placement.ok()) {
    spdlog::warn("ignoring membership view {}: {}", view->version, placement.status().ToString());
    return;
  }
  std::vector<std::string> ids;
  for (const Member& m : view->members) ids.push_back(m.id);
  health_.Retain(ids);
  if (members_gauge_) members_gauge_->Set(static_cast<int64_t>(view->members.size()));
  spdlog::info("membership view {}: {} members", (*placement)->version(), (*placement)->size());
  std::lock_guard lock(placement_mu_);
  // Start()'s hand-over and the provider's thread may race: never go back to an older view.
  if (view->version < view_->version) return;
  placement_ = std::move(placement).value();
  ViewChanges changes = DiffViews(*view_, *view);
  change_members_ += changes.changed.size() + changes.removed.size();
  changes_.push_back(std::move(changes));
  while (changes_.size() > kChangeLog || change_members_ > kChangeLogMembers) {
    change_members_ -= changes_.front().changed.size() + changes_.front().removed.size();
    changes_.pop_front();
  }
  view_ = std::move(view);
}

std::shared_ptr<const MemberView> Router::view() const {
  std::lock_guard lock(placement_mu_);
  return view_;
}

std::optional<ViewChanges> Router::ChangesSince(uint64_t version,
                                                std::shared_ptr<const MemberView>* view) const {
  std::lock_guard lock(placement_mu_);
  if (view != nullptr) *view = view_;
  if (version == view_->version) return ViewChanges{.since = version};
  auto first = std::find_if(changes_.begin(), changes_.end(),
                            [&](const ViewChanges& c) { return c.since == version; });
  if (first == changes_.end()) return std::nullopt;
  // Fold the changes from there on: the last word on each member wins.
  std::map<std::string, const Member*> latest;  // nullptr: removed
  for (auto it = first; it != changes_.end(); ++it) {
    for (const std::string& id : it->removed) latest[id] = nullptr;
    for (const Member& m : it->changed) latest[m.id] = &m;
  }
  ViewChanges out{.since = version};
  for (const auto& [id, m] : latest) {
    if (m != nullptr) {
      out.changed.push_back(*m);
    } else {
      out.removed.push_back(id);
    }
  }
  return out;
}

std::shared_ptr<const Placement> Router::placement() const {
  std::lock_guard lock(placement_mu_);
  return placement_;
}

bool Router::Owns(const Key128& key, const std::string& origin, const std::string& path) const {
  std::shared_ptr<const Placement> p = placement();
  return p->IsOwner(key, p->BlockOwnerCount(origin, path), self_.id);
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

BlockPlan Router::Plan(const Key128& key, const std::string& origin, const std::string& path,
                       bool forwarded) {
  BlockPlan plan;
  plan.placement = placement();
  const Placement& p = *plan.placement;
  if (p.empty()) {
    plan.fetch_from_origin = true;
    return plan;
  }
  const size_t replicas = p.BlockOwnerCount(origin, path);
  // Owners first, then two more members in rendezvous order as fallbacks.
  std::vector<const Member*> ranked = p.Ranked(key, replicas, 2);
  auto self_at = std::find_if(ranked.begin(), ranked.end(),
                              [&](const Member* m) { return m->id == self_.id; });
  const size_t self_rank = static_cast<size_t>(self_at - ranked.begin());
  if (self_rank == 0) {
    plan.fetch_from_origin = true;  // the primary owner reads the origin
    return plan;
  }
  if (forwarded && self_rank >= replicas) {
    plan.fetch_from_origin = true;  // sent here by a member with another view: no further hop
    return plan;
  }
  if (forwarded) {
    // A secondary replica asked by another member copies from the primary alone (the primary
    // never forwards), so the origin is still read once per block.
    plan.keep_copy = true;
    ranked.resize(1);
  } else if (self_rank < replicas) {
    // A secondary replica copies from the primary (then the other replicas), so the origin is
    // read once however many replicas there are.
    plan.keep_copy = true;
  } else {
    // A non-owner spreads its reads over the replicas as a client does.
    ranked = p.ReaderOrder(key, replicas, self_.id, 2);
    plan.keep_copy = CountForward(key);
  }
  std::erase_if(ranked, [&](const Member* m) { return m->id == self_.id; });
  plan.candidates = health_.Order(ranked);
  return plan;
}

}  // namespace unicache

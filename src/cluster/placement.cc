#include "cluster/placement.h"

#include <algorithm>
#include <array>
#include <set>

#include "common/object_path.h"
#include "common/text.h"

namespace unicache {

Result<ReplicaRule> ParseReplicaRule(std::string_view text) {
  const size_t eq = text.rfind('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument("bad replica rule '" + std::string(text) +
                           "': expected ORIGIN[/PREFIX]=N");
  }
  std::optional<size_t> count = ParseDecimal<size_t>(text.substr(eq + 1));
  if (!count || *count < 1 || *count > kMaxReplicas) {
    return InvalidArgument("bad replica count in '" + std::string(text) + "': use 1.." +
                           std::to_string(kMaxReplicas));
  }
  ReplicaRule rule;
  rule.replicas = *count;
  const std::string_view target = text.substr(0, eq);
  const size_t slash = target.find('/');
  rule.origin = std::string(target.substr(0, slash));
  if (slash != std::string_view::npos) rule.prefix = std::string(target.substr(slash + 1));
  RETURN_IF_ERROR(ValidatePrefix(rule.prefix));
  return rule;
}

std::string FormatReplicaRule(const ReplicaRule& rule) {
  return rule.origin + (rule.prefix.empty() ? "" : "/" + rule.prefix) + "=" +
         std::to_string(rule.replicas);
}

Result<ReplicaPolicy> ReplicaPolicy::Parse(size_t replicas, const std::vector<std::string>& rules) {
  if (replicas < 1 || replicas > kMaxReplicas) {
    return InvalidArgument("replicas must be 1.." + std::to_string(kMaxReplicas) + ", not " +
                           std::to_string(replicas));
  }
  ReplicaPolicy policy;
  policy.replicas = replicas;
  for (const std::string& text : rules) {
    ASSIGN_OR_RETURN(ReplicaRule rule, ParseReplicaRule(text));
    policy.rules.push_back(std::move(rule));
  }
  return policy;
}

size_t ReplicaPolicy::ReplicasFor(std::string_view origin, std::string_view path) const {
  size_t best_len = 0;
  size_t n = replicas;
  for (const ReplicaRule& r : rules) {
    if (r.origin != origin || !path.starts_with(r.prefix)) continue;
    if (r.prefix.size() >= best_len) {
      best_len = r.prefix.size();
      n = r.replicas;
    }
  }
  return std::max<size_t>(1, n);
}

Key128 KvPlacementKey(std::string_view ns, std::string_view key) { return HashFields({ns, key}); }

Result<std::shared_ptr<const Placement>> Placement::Create(const MemberView& view,
                                                           ReplicaPolicy policy) {
  std::set<std::string_view> ids;
  for (const Member& m : view.members) {
    RETURN_IF_ERROR(ValidateMember(m));
    if (!ids.insert(m.id).second) return InvalidArgument("duplicate member id " + m.id);
  }
  return std::shared_ptr<const Placement>(new Placement(view, std::move(policy)));
}

Placement::Placement(MemberView view, ReplicaPolicy policy)
    : members_(std::move(view.members)), version_(view.version), policy_(std::move(policy)) {
  std::sort(members_.begin(), members_.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  const bool all_hold = std::all_of(members_.begin(), members_.end(),
                                    [](const Member& m) { return !m.slots.empty(); });
  if (all_hold && !members_.empty()) {
    slots_ = std::make_unique<const SlotTable>(members_);
  } else {
    ring_ = HashRing::Create(members_, version_).value();  // validated above
  }
}

const Member* Placement::Find(std::string_view id) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), id,
                             [](const Member& m, std::string_view v) { return m.id < v; });
  return it != members_.end() && it->id == id ? &*it : nullptr;
}

size_t Placement::OwnerCount(size_t replicas) const {
  return std::clamp<size_t>(replicas, 1, std::max<size_t>(1, size()));
}

std::vector<const Member*> Placement::Ranked(const Key128& key, size_t owners,
                                             size_t fallbacks) const {
  const size_t n = std::min(size(), owners + std::min(fallbacks, size()));
  if (ring_) {
    std::vector<const Member*> ranked = ring_->Owners(key, n);
    for (const Member*& m : ranked) m = &members_[static_cast<size_t>(m - ring_->members().data())];
    return ranked;
  }
  std::vector<const Member*> out;
  if (n == 0) return out;
  // The usual few owners need no second allocation on the lookup path.
  std::array<uint32_t, 2 * kMaxReplicas> small;
  std::vector<uint32_t> large(n > small.size() ? n : 0);
  uint32_t* index = n > small.size() ? large.data() : small.data();
  const size_t found = slots_->Owners(key, n, index);
  out.reserve(found);
  for (size_t i = 0; i < found; ++i) out.push_back(&members_[index[i]]);
  return out;
}

const Member* Placement::Owner(const Key128& key) const {
  std::vector<const Member*> first = Ranked(key, 1, 0);
  return first.empty() ? nullptr : first.front();
}

std::vector<const Member*> Placement::ReaderOrder(const Key128& key, size_t owners,
                                                  std::string_view reader_id,
                                                  size_t fallbacks) const {
  std::vector<const Member*> ranked = Ranked(key, owners, fallbacks);
  const size_t copies = std::min(owners, ranked.size());
  if (copies > 1) {
    const size_t start = (Hash64(reader_id) ^ key.lo) % copies;
    std::rotate(ranked.begin(), ranked.begin() + static_cast<long>(start),
                ranked.begin() + static_cast<long>(copies));
  }
  return ranked;
}

bool Placement::IsOwner(const Key128& key, size_t owners, std::string_view id) const {
  if (empty()) return true;
  for (const Member* m : Ranked(key, owners, 0)) {
    if (m->id == id) return true;
  }
  return false;
}

}  // namespace unicache

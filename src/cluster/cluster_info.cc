#include "cluster/cluster_info.h"

#include <map>
#include <nlohmann/json.hpp>

#include "common/json_read.h"

namespace unicache {
namespace {

// Returns the unsigned field `name`, or `fallback` when it is absent.
Result<uint64_t> UnsignedField(const nlohmann::json& body, const char* name, uint64_t fallback) {
  auto it = body.find(name);
  if (it == body.end()) return fallback;
  if (!it->is_number_unsigned()) {
    return InvalidArgument(std::string("members: ") + name + " is not an unsigned number");
  }
  return it->get<uint64_t>();
}

}  // namespace

ViewChanges DiffViews(const MemberView& from, const MemberView& to) {
  ViewChanges changes{.since = from.version};
  auto old = from.members.begin();
  for (const Member& m : to.members) {
    while (old != from.members.end() && old->id < m.id) changes.removed.push_back((old++)->id);
    if (old != from.members.end() && old->id == m.id) {
      if (!(*old == m)) changes.changed.push_back(m);
      ++old;
    } else {
      changes.changed.push_back(m);
    }
  }
  for (; old != from.members.end(); ++old) changes.removed.push_back(old->id);
  return changes;
}

std::string ClusterInfoToJson(const MemberView& view, const ReplicaPolicy& policy,
                              uint64_t block_size, std::string_view self,
                              const ViewChanges* changes) {
  nlohmann::json body;
  if (changes == nullptr) {
    body = nlohmann::json::parse(MemberViewToJson(view));
  } else {
    nlohmann::json changed = nlohmann::json::array();
    for (const Member& m : changes->changed)
      changed.push_back(nlohmann::json::parse(MemberToJson(m)));
    body = {{"version", view.version},
            {"since", changes->since},
            {"changed", std::move(changed)},
            {"removed", changes->removed}};
  }
  body["block_size"] = block_size;
  body["self"] = self;
  body["replicas"] = policy.replicas;
  nlohmann::json rules = nlohmann::json::array();
  for (const ReplicaRule& rule : policy.rules) rules.push_back(FormatReplicaRule(rule));
  body["replica_rules"] = std::move(rules);
  return body.dump() + "\n";
}

namespace {

// Returns `base` with the changes of a delta answer applied.
Result<MemberView> ApplyDelta(uint64_t version, const nlohmann::json& changed,
                              const nlohmann::json& removed, const ClusterInfo& base) {
  std::map<std::string, Member> members;
  for (const Member& m : base.placement->members()) members.emplace(m.id, m);
  for (const nlohmann::json& id : removed) {
    if (!id.is_string()) return InvalidArgument("members: \"removed\" holds a non-string");
    members.erase(id.get<std::string>());
  }
  for (const nlohmann::json& item : changed) {
    ASSIGN_OR_RETURN(Member m, MemberFromJson(item.dump()));
    members[m.id] = std::move(m);
  }
  MemberView view{.version = version};
  for (auto& [id, m] : members) view.members.push_back(std::move(m));
  return view;
}

}  // namespace

Result<std::shared_ptr<const ClusterInfo>> ParseClusterInfo(
    std::string_view json, std::shared_ptr<const ClusterInfo> current) {
  return ReadJsonObject<std::shared_ptr<const ClusterInfo>>(
      json, "members",
      [&](const nlohmann::json& body) -> Result<std::shared_ptr<const ClusterInfo>> {
        auto info = std::make_shared<ClusterInfo>();
        ASSIGN_OR_RETURN(info->block_size, UnsignedField(body, "block_size", info->block_size));
        if (info->block_size == 0) return InvalidArgument("members: block_size is 0");
        ASSIGN_OR_RETURN(uint64_t replicas, UnsignedField(body, "replicas", 1));
        info->self = body.value("self", std::string());
        std::vector<std::string> rules = body.value("replica_rules", std::vector<std::string>());
        ASSIGN_OR_RETURN(ReplicaPolicy policy, ReplicaPolicy::Parse(replicas, rules));
        MemberView view;
        if (body.contains("since")) {
          ASSIGN_OR_RETURN(uint64_t since, UnsignedField(body, "since", 0));
          if (current == nullptr || current->placement->version() != since) {
            return InvalidArgument("members: changes since view " + std::to_string(since) +
                                   ", which this reader does not hold");
          }
          auto changed = body.find("changed");
          auto removed = body.find("removed");
          if (changed == body.end() || !changed->is_array() || removed == body.end() ||
              !removed->is_array()) {
            return InvalidArgument("members: a delta needs \"changed\" and \"removed\" arrays");
          }
          ASSIGN_OR_RETURN(uint64_t version, UnsignedField(body, "version", 0));
          if (changed->empty() && removed->empty() && version == since &&
              info->block_size == current->block_size && info->self == current->self &&
              policy == current->placement->policy()) {
            return current;
          }
          ASSIGN_OR_RETURN(view, ApplyDelta(version, *changed, *removed, *current));
        } else {
          ASSIGN_OR_RETURN(view, MemberViewFromJson(json));
        }
        ASSIGN_OR_RETURN(info->placement, Placement::Create(view, std::move(policy)));
        return std::shared_ptr<const ClusterInfo>(std::move(info));
      });
}

MemberView ViewOf(const ClusterInfo& info) {
  return MemberView{.version = info.placement->version(), .members = info.placement->members()};
}

}  // namespace unicache

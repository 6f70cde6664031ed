#include "cluster/cluster_info.h"

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

std::string ClusterInfoToJson(const MemberView& view, const ReplicaPolicy& policy,
                              uint64_t block_size, std::string_view self) {
  nlohmann::json body = nlohmann::json::parse(MemberViewToJson(view));
  body["block_size"] = block_size;
  body["self"] = self;
  body["replicas"] = policy.replicas;
  nlohmann::json rules = nlohmann::json::array();
  for (const ReplicaRule& rule : policy.rules) rules.push_back(FormatReplicaRule(rule));
  body["replica_rules"] = std::move(rules);
  return body.dump() + "\n";
}

Result<std::shared_ptr<const ClusterInfo>> ParseClusterInfo(std::string_view json) {
  ASSIGN_OR_RETURN(MemberView view, MemberViewFromJson(json));
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
        ASSIGN_OR_RETURN(info->placement, Placement::Create(view, std::move(policy)));
        return std::shared_ptr<const ClusterInfo>(std::move(info));
      });
}

}  // namespace unicache

#include "client/block_plan.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace unicache {
namespace {

// Parses "ORIGIN[/PREFIX]=N" as `unicache serve --replicas-for` does.
Result<ClientReplicaRule> ParseRule(std::string_view text) {
  size_t eq = text.rfind('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument("bad replica rule '" + std::string(text) + "'");
  }
  std::string_view target = text.substr(0, eq);
  std::string_view count = text.substr(eq + 1);
  ClientReplicaRule rule;
  size_t slash = target.find('/');
  rule.origin = std::string(target.substr(0, slash));
  if (slash != std::string_view::npos) rule.prefix = std::string(target.substr(slash + 1));
  auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), rule.replicas);
  if (ec != std::errc() || p != count.data() + count.size() || rule.replicas < 1) {
    return InvalidArgument("bad replica count in '" + std::string(text) + "'");
  }
  return rule;
}

}  // namespace

size_t ClusterInfo::ReplicasFor(std::string_view origin, std::string_view path) const {
  size_t best_len = 0;
  size_t n = replicas;
  for (const ClientReplicaRule& r : rules) {
    if (r.origin != origin || !path.starts_with(r.prefix)) continue;
    if (r.prefix.size() >= best_len) {
      best_len = r.prefix.size();
      n = r.replicas;
    }
  }
  return std::max<size_t>(1, n);
}

Result<std::shared_ptr<const ClusterInfo>> ParseClusterInfo(std::string_view json) {
  ASSIGN_OR_RETURN(MemberView view, MemberViewFromJson(json));
  auto body = nlohmann::json::parse(json, nullptr, false);
  auto info = std::make_shared<ClusterInfo>();
  ASSIGN_OR_RETURN(info->ring, HashRing::FromView(view));
  if (body.contains("block_size") && body["block_size"].is_number_unsigned()) {
    info->block_size = body["block_size"].get<uint64_t>();
  }
  if (info->block_size == 0) return InvalidArgument("members: block_size is 0");
  if (body.contains("replicas") && body["replicas"].is_number_unsigned()) {
    info->replicas = std::max<size_t>(1, body["replicas"].get<size_t>());
  }
  if (body.contains("replica_rules") && body["replica_rules"].is_array()) {
    for (const auto& r : body["replica_rules"]) {
      if (!r.is_string()) continue;
      ASSIGN_OR_RETURN(ClientReplicaRule rule, ParseRule(r.get<std::string>()));
      info->rules.push_back(std::move(rule));
    }
  }
  return std::shared_ptr<const ClusterInfo>(std::move(info));
}

std::vector<BlockSpan> SplitBlocks(uint64_t offset, size_t length, uint64_t object_size,
                                   uint64_t block_size) {
  std::vector<BlockSpan> spans;
  if (offset >= object_size || length == 0) return spans;
  uint64_t end = std::min<uint64_t>(object_size, offset + length);
  for (uint64_t pos = offset; pos < end;) {
    uint64_t index = pos / block_size;
    uint64_t block_end = std::min(end, (index + 1) * block_size);
    spans.push_back(
        {index, pos, static_cast<size_t>(block_end - pos), static_cast<size_t>(pos - offset)});
    pos = block_end;
  }
  return spans;
}

std::vector<const Member*> OrderMembersForBlock(const HashRing& ring, const Key128& key,
                                                size_t replicas, std::string_view client_id,
                                                PeerHealth* health) {
  std::vector<const Member*> ranked = ring.Owners(key, ring.size());
  size_t owners = std::min(replicas, ranked.size());
  if (owners > 1) {
    // Mixing in the key spreads one client's blocks over the replicas too.
    size_t start = (Hash64(client_id) ^ key.lo) % owners;
    std::rotate(ranked.begin(), ranked.begin() + static_cast<long>(start),
                ranked.begin() + static_cast<long>(owners));
  }
  return health ? health->Order(ranked) : ranked;
}

}  // namespace unicache

#include "kv/kv_config.h"

#include "cluster/placement.h"
#include "common/text.h"
#include "common/units.h"

namespace unicache {

Status ValidateKvNamespaceName(std::string_view name) {
  if (name.empty() || name.size() > kKvMaxNamespaceBytes) {
    return InvalidArgument("namespace name must be 1.." + std::to_string(kKvMaxNamespaceBytes) +
                           " characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      return InvalidArgument("namespace name '" + std::string(name) + "': use [A-Za-z0-9._-]");
  }
  return Status::Ok();
}

Status ValidateKvKey(std::string_view key) {
  if (key.empty()) return InvalidArgument("empty key");
  if (key.size() > kKvMaxKeyBytes) {
    return InvalidArgument("key of " + std::to_string(key.size()) + " bytes; at most " +
                           std::to_string(kKvMaxKeyBytes));
  }
  return Status::Ok();
}

Status ValidateKvValueSize(uint64_t size) {
  if (size > kKvMaxValueBytes) {
    return InvalidArgument("value of " + std::to_string(size) + " bytes; at most " +
                           std::to_string(kKvMaxValueBytes) + " (64 MiB)");
  }
  return Status::Ok();
}

Result<KvNamespaceConfig> ParseKvNamespace(std::string_view spec) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos) {
    return InvalidArgument("bad KV namespace '" + std::string(spec) +
                           "': expected NAME=QUOTA[,ttl=DURATION][,replicas=N]");
  }
  KvNamespaceConfig ns;
  ns.name = std::string(spec.substr(0, eq));
  RETURN_IF_ERROR(ValidateKvNamespaceName(ns.name));
  std::string_view rest = spec.substr(eq + 1);
  bool first = true;
  while (!rest.empty() || first) {
    size_t comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (first) {
      first = false;
      Result<uint64_t> quota = ParseSize(part);
      if (!quota.ok()) return quota.status().WithContext("quota of namespace " + ns.name);
      if (*quota == 0) return InvalidArgument("quota of namespace " + ns.name + " must be > 0");
      ns.quota_bytes = *quota;
      continue;
    }
    if (part.starts_with("ttl=")) {
      Result<std::chrono::milliseconds> ttl = ParseDuration(part.substr(4));
      if (!ttl.ok()) return ttl.status().WithContext("ttl of namespace " + ns.name);
      ns.default_ttl =
          *ttl == std::chrono::milliseconds::max() ? std::chrono::milliseconds(0) : *ttl;
    } else if (part.starts_with("replicas=")) {
      std::optional<size_t> n = ParseDecimal<size_t>(part.substr(9));
      if (!n || *n < 1 || *n > kMaxReplicas) {
        return InvalidArgument("replicas of namespace " + ns.name + " must be 1.." +
                               std::to_string(kMaxReplicas));
      }
      ns.replicas = *n;
    } else {
      return InvalidArgument("unknown KV namespace option '" + std::string(part) +
                             "' (use ttl=DURATION, replicas=N)");
    }
  }
  return ns;
}

}  // namespace unicache

// KV cache configuration: namespaces (one per model or tenant) with byte quotas, default TTLs and
// replica counts, and the limits every KV request is checked against.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace unicache {

inline constexpr uint64_t kKvMaxValueBytes = 64ull << 20;  // largest value
inline constexpr size_t kKvMaxKeyBytes = 1024;             // largest key (opaque bytes)
inline constexpr size_t kKvMaxBatchKeys = 100000;          // keys in one batch request
inline constexpr size_t kKvMaxNamespaceBytes = 128;        // namespace name length

// One namespace. Value type; thread-compatible.
struct KvNamespaceConfig {
  std::string name;
  uint64_t quota_bytes = 0;                  // bytes of values this node holds for it
  std::chrono::milliseconds default_ttl{0};  // 0: values live until evicted or deleted
  size_t replicas = 1;                       // owners per key (hot prefixes: 2..16)
};

// Parses "NAME=QUOTA[,ttl=DURATION][,replicas=N]", e.g. "llama3=8GiB,ttl=1h".
Result<KvNamespaceConfig> ParseKvNamespace(std::string_view spec);

// Returns InvalidArgument unless `name` is 1..128 of [A-Za-z0-9._-].
Status ValidateKvNamespaceName(std::string_view name);

// Returns InvalidArgument unless `key` is 1..kKvMaxKeyBytes bytes.
Status ValidateKvKey(std::string_view key);

// Returns InvalidArgument for a value larger than kKvMaxValueBytes.
Status ValidateKvValueSize(uint64_t size);

}  // namespace unicache

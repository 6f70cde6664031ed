// MemoryBudget: the memory a node's configuration bounds it to, term by term, and the resident
// memory it actually uses, for /metrics (docs/RELIABILITY.md, "Memory budget").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unicache {

struct NodeOptions;

// One term of the budget: what holds the memory and how much at most.
struct BudgetTerm {
  std::string what;
  uint64_t bytes;
};

// What the configuration bounds, given `kv_bytes` (the KV cap) and the number of origins:
// the RAM tier, the KV values, upload blocks kept for the cache, the metadata cache, request
// bodies read whole, upload pipes, connection buffers, and a fixed base for the binary, its
// threads and libraries.
std::vector<BudgetTerm> MemoryBudget(const NodeOptions& options, uint64_t kv_bytes, size_t origins);

// Metadata cache entries a node keeps: one per KiB of RAM tier, at least 65,536.
size_t MetadataEntriesFor(uint64_t ram_bytes);

// Request bodies read whole (KV values and batches) with and without KV namespaces: at most
// `limit` each, `budget` for all connections at once.
struct BufferedBodies {
  uint64_t limit;
  uint64_t budget;
};
BufferedBodies BufferedBodiesFor(bool kv_enabled);

// The process's resident set size (VmRSS), or 0 when it cannot be read.
uint64_t ResidentBytes();

}  // namespace unicache

#include "server/memory_budget.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "server/node.h"
#include "server/objects/upload_pipe.h"

namespace unicache {

namespace {
// Bytes a metadata cache entry takes (path, version, index and list nodes), measured rounded up.
constexpr uint64_t kMetadataEntryBytes = 256;
// A connection's read buffer and session at most (a 16 KiB header, a 64 KiB small body).
constexpr uint64_t kConnectionBytes = 96 << 10;
// The binary, its libraries, thread stacks touched, allocator slack.
constexpr uint64_t kBaseBytes = 96 << 20;
}  // namespace

size_t MetadataEntriesFor(uint64_t ram_bytes) {
  return static_cast<size_t>(std::max<uint64_t>(65536, ram_bytes >> 10));
}

BufferedBodies BufferedBodiesFor(bool kv_enabled) {
  // Without KV namespaces no route takes a large body read whole (object uploads stream).
  if (!kv_enabled) return BufferedBodies{1 << 20, 16 << 20};
  return BufferedBodies{128ull << 20, 256ull << 20};
}

std::vector<BudgetTerm> MemoryBudget(const NodeOptions& o, uint64_t kv_bytes, size_t origins) {
  const BufferedBodies bodies = BufferedBodiesFor(!o.kv_namespaces.empty());
  return {
      {"ram_tier", o.ram_bytes},
      {"kv", kv_bytes},
      {"upload_blocks", std::max(o.block_size, o.ram_bytes / 4)},
      {"metadata", MetadataEntriesFor(o.ram_bytes) * kMetadataEntryBytes},
      {"request_bodies", bodies.budget},
      {"upload_pipes", UploadPipe::kPieces * UploadPipe::kPieceBytes * o.origin_threads * origins},
      {"connections", kConnectionBytes * o.max_connections},
      {"base", kBaseBytes},
  };
}

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace unicache

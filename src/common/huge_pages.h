// Large buffers backed by transparent huge pages.
//
// Why: on the VMs this was measured on, the first access to a 4 KiB page from a CPU that has not
// touched it yet costs several microseconds (the hypervisor builds its own mapping of it). A block
// filled by an origin thread and sent to a client by an event-loop thread paid that for every
// page: sending a 64 MiB object cold cost the event loop 1.3 CPU-s, mostly in the kernel's copy
// out of the block, against 0.12 CPU-s with the block in 2 MiB pages (docs/BENCHMARKS.md).
#pragma once

#include <cstddef>
#include <memory>

namespace unicache {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Asks the kernel to back the whole 2 MiB pages inside [p, p + n) with transparent huge pages
// (madvise MADV_HUGEPAGE). Call it before the memory is first touched: pages already present stay
// small. Does nothing for a range that holds no whole huge page, or where the kernel refuses
// (transparent huge pages off); it is advice, and never fails.
void AdviseHugePages(void* p, size_t n);

struct FreeLargeBuffer {
  void operator()(std::byte* p) const;
};

// An uninitialized heap buffer, owned by its unique_ptr.
using LargeBuffer = std::unique_ptr<std::byte[], FreeLargeBuffer>;

// Returns `n` uninitialized bytes. From kHugePageBytes up, they start on a huge-page boundary and
// are advised with AdviseHugePages(); smaller buffers are plain heap memory. Returns null when
// memory runs out (no exception: callers turn it into a ResourceExhausted Status).
LargeBuffer AllocateLargeBuffer(size_t n);

}  // namespace unicache

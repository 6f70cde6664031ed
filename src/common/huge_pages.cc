#include "common/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

namespace unicache {

void AdviseHugePages(void* p, size_t n) {
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (start + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const uintptr_t end = (start + n) & ~(kHugePageBytes - 1);
  if (end <= first) return;
  // Errors (EINVAL where huge pages are compiled out or off) leave ordinary pages: nothing to do.
  (void)madvise(reinterpret_cast<void*>(first), end - first, MADV_HUGEPAGE);
}

void FreeLargeBuffer::operator()(std::byte* p) const { std::free(p); }

LargeBuffer AllocateLargeBuffer(size_t n) {
  void* p = nullptr;
  if (n >= kHugePageBytes) {
    if (posix_memalign(&p, kHugePageBytes, n) != 0) p = nullptr;
    if (p != nullptr) AdviseHugePages(p, n);
  } else {
    p = std::malloc(n == 0 ? 1 : n);
  }
  return LargeBuffer(static_cast<std::byte*>(p));
}

}  // namespace unicache

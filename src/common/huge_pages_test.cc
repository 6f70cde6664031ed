#include "common/huge_pages.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace unicache {
namespace {

// Transparent huge pages as the kernel offers them: "always", "madvise" or "never" ("" if the
// kernel has none).
std::string ThpMode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(f, line);
  auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos) return "";
  return line.substr(open + 1, close - open - 1);
}

// The THPeligible field of the /proc/self/smaps mapping that holds `addr`, or -1.
int ThpEligible(const void* addr) {
  const auto a = reinterpret_cast<uintptr_t>(addr);
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(f, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && line.rfind("THPeligible:", 0) == 0) return std::stoi(line.substr(12));
  }
  return -1;
}

TEST(HugePagesTest, LargeBuffersStartOnAHugePageBoundary) {
  for (size_t n : {kHugePageBytes, kHugePageBytes + 1, 4 * kHugePageBytes + 12345}) {
    LargeBuffer b = AllocateLargeBuffer(n);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.get()) % kHugePageBytes, 0u) << n;
    std::memset(b.get(), 0x5a, n);  // the whole range is usable
    EXPECT_EQ(b[n - 1], std::byte{0x5a});
  }
}

TEST(HugePagesTest, SmallBuffersArePlainHeapMemory) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{4096}, kHugePageBytes - 1}) {
    LargeBuffer b = AllocateLargeBuffer(n);
    ASSERT_NE(b, nullptr) << n;
    if (n > 0) std::memset(b.get(), 1, n);
  }
}

TEST(HugePagesTest, AdviceMakesMemoryEligibleForHugePages) {
  const std::string mode = ThpMode();
  if (mode != "madvise") GTEST_SKIP() << "transparent huge pages: '" << mode << "', not madvise";
  const size_t n = 4 * kHugePageBytes;
  void* m = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  EXPECT_EQ(ThpEligible(m), 0);  // not advised yet
  AdviseHugePages(m, n);
  EXPECT_EQ(ThpEligible(static_cast<char*>(m) + n - 1), 1);
  munmap(m, n);

  LargeBuffer b = AllocateLargeBuffer(n);
  EXPECT_EQ(ThpEligible(b.get()), 1);
}

TEST(HugePagesTest, AdviceOnRangesWithoutAWholeHugePageIsHarmless) {
  std::string small(1000, 'x');
  AdviseHugePages(small.data(), small.size());
  AdviseHugePages(nullptr, 0);
  EXPECT_EQ(small, std::string(1000, 'x'));
}

TEST(LargeBufferTest, MemoryThatCannotBeHadIsNullNotAThrow) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer aborts on an allocation this large instead of failing it";
#else
  const size_t absurd = size_t{1} << 62;
  EXPECT_EQ(AllocateLargeBuffer(absurd), nullptr);
  EXPECT_EQ(AllocateLargeBuffer(absurd + 12345), nullptr);  // not huge-page aligned
#endif
}

}  // namespace
}  // namespace unicache

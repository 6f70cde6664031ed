// Parsing and printing of byte sizes ("4MiB") and durations ("10s").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace unicache {

// Parses a byte size: plain bytes ("4096") or a number with a unit: B, KiB, MiB, GiB, TiB
// (powers of 1024) or KB, MB, GB, TB (powers of 1000); units are case-insensitive, "K"/"M"/"G"/"T"
// alone mean the binary units. Fractions are allowed ("1.5GiB"). Rejects negatives and overflow.
Result<uint64_t> ParseSize(std::string_view text);

// Parses a duration: a number with unit ms, s, m or h ("250ms", "10s", "5m"); a bare number is
// seconds. "forever" and "inf" give Duration::max().
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Formats `bytes` for people, e.g. "4.0 MiB".
std::string FormatSize(uint64_t bytes);

}  // namespace unicache

// Parsing of the HTTP Range request header (RFC 9110, single byte range).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace unicache {

// A resolved byte range [first, last], both inclusive, within an object.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
};

// Resolves `header` (e.g. "bytes=0-99", "bytes=100-", "bytes=-500") against an object of `size`
// bytes. Returns nullopt for an absent header (whole object). Errors:
//   InvalidArgument: malformed header, or more than one range (not supported) -> 400/416
//   OutOfRange: syntactically fine but unsatisfiable (first >= size, or size == 0) -> 416
Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size);

// Returns true when `header` asks for bytes from the object's start whatever its size: absent,
// or one valid range "bytes=0-...". False for suffix ranges and malformed headers.
bool RangeStartsAtZero(std::string_view header);

}  // namespace unicache

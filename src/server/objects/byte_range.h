// The HTTP Range request header (RFC 9110 section 14.2) resolved against one object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace unicache {

// A resolved byte range [first, last], both inclusive, within an object.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
};

// More ranges than this in one request are ignored (the whole object is served): RFC 9110 lets
// a server ignore a Range header asking for many small ranges, a cheap way to make it work hard.
inline constexpr size_t kMaxRanges = 64;

// Resolves a Range header value against an object of `size` bytes. Returns the satisfiable
// ranges in request order (unsatisfiable ones dropped), or none for the whole object: no header,
// a range unit other than "bytes" (ignored, as RFC 9110 requires), or more than kMaxRanges.
// OutOfRange (416) when no range is satisfiable (each starts at or past the end, or the object
// is empty) or a range is invalid ("bytes=10-5", "bytes=abc").
Result<std::vector<ByteRange>> ResolveRanges(std::string_view header, uint64_t size);

// Returns true when `header` asks for bytes from the object's start whatever its size: absent,
// ignored, or one valid range "bytes=0-...". False for suffix and multiple ranges.
bool RangeStartsAtZero(std::string_view header);

// The framing of a multipart/byteranges body (RFC 9110 section 14.6): each range's bytes are
// preceded by PartHead(i), and the body ends with Tail(). Immutable after construction.
class MultipartRanges {
 public:
  // Frames `ranges` (at least one) of an object of `size` bytes under a random boundary.
  MultipartRanges(std::vector<ByteRange> ranges, uint64_t size);

  // Returns "multipart/byteranges; boundary=...".
  std::string content_type() const;
  // Returns the body's length: the parts' heads, the ranges' bytes and the tail.
  uint64_t content_length() const;
  // Returns the delimiter and headers that come before range `i`'s bytes.
  std::string PartHead(size_t i) const;
  // Returns the closing delimiter.
  std::string Tail() const;

 private:
  std::vector<ByteRange> ranges_;
  uint64_t size_;
  std::string boundary_;
};

}  // namespace unicache

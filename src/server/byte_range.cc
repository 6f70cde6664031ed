#include "server/byte_range.h"

#include <charconv>
#include <limits>
#include <string>

namespace unicache {
namespace {

// Parses a run of decimal digits. Values past uint64 saturate: RFC 9110 allows positions of any
// size, and a huge last-pos or suffix length just means "to the end".
bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (p != s.data() + s.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    *out = std::numeric_limits<uint64_t>::max();
    return true;
  }
  return ec == std::errc();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size) {
  header = Trim(header);
  if (header.empty()) return std::optional<ByteRange>();
  if (!header.starts_with("bytes=")) {
    return InvalidArgument("malformed Range header: only 'bytes=' ranges are supported");
  }
  std::string_view spec = Trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) {
    return InvalidArgument("multiple ranges in one request are not supported; send one range");
  }
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return InvalidArgument("malformed Range header: no '-'");
  std::string_view a = Trim(spec.substr(0, dash));
  std::string_view b = Trim(spec.substr(dash + 1));
  ByteRange r;
  if (a.empty()) {  // suffix range: the last N bytes
    uint64_t n = 0;
    if (!ParseU64(b, &n)) return InvalidArgument("malformed Range header: bad suffix length");
    if (n == 0 || size == 0) return OutOfRange("range not satisfiable");
    r.first = n >= size ? 0 : size - n;
    r.last = size - 1;
    return std::optional<ByteRange>(r);
  }
  if (!ParseU64(a, &r.first)) return InvalidArgument("malformed Range header: bad first byte");
  if (b.empty()) {
    r.last = size == 0 ? 0 : size - 1;
  } else {
    if (!ParseU64(b, &r.last)) return InvalidArgument("malformed Range header: bad last byte");
    if (r.last < r.first) return InvalidArgument("malformed Range header: last byte < first byte");
    if (size > 0 && r.last >= size) r.last = size - 1;
  }
  if (r.first >= size) return OutOfRange("range not satisfiable");
  return std::optional<ByteRange>(r);
}

bool RangeStartsAtZero(std::string_view header) {
  Result<std::optional<ByteRange>> range = ParseRange(header, std::numeric_limits<uint64_t>::max());
  return range.ok() && (!range->has_value() || (*range)->first == 0);
}

}  // namespace unicache

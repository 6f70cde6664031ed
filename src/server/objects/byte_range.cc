#include "server/objects/byte_range.h"

#include <cstdio>
#include <limits>
#include <random>
#include <string>

#include "common/text.h"

namespace unicache {
namespace {

// Parses a run of decimal digits. Values past uint64 saturate: RFC 9110 allows positions of any
// size, and a huge last-pos or suffix length just means "to the end".
bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
  *out = ParseDecimal<uint64_t>(s).value_or(std::numeric_limits<uint64_t>::max());
  return true;
}

Status Invalid(std::string_view spec) {
  return OutOfRange("invalid range '" + std::string(spec.substr(0, 64)) +
                    "': send bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX, with FIRST <= LAST");
}

}  // namespace

Result<std::vector<ByteRange>> ResolveRanges(std::string_view header, uint64_t size) {
  std::vector<ByteRange> out;
  header = TrimSpace(header);
  if (header.empty()) return out;
  const size_t eq = header.find('=');
  if (eq == std::string_view::npos || !EqualsNoCase(TrimSpace(header.substr(0, eq)), "bytes")) {
    return out;  // a range unit we do not know: the Range header is ignored
  }
  const std::string_view specs = header.substr(eq + 1);
  size_t count = 0;
  for (size_t pos = 0, comma = 0; comma != std::string_view::npos; pos = comma + 1) {
    comma = specs.find(',', pos);
    std::string_view spec =
        TrimSpace(specs.substr(pos, comma == std::string_view::npos ? specs.npos : comma - pos));
    if (spec.empty()) continue;  // RFC 9110's list syntax allows empty elements
    if (++count > kMaxRanges) return std::vector<ByteRange>();  // ignored: the whole object
    const size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return Invalid(spec);
    std::string_view a = TrimSpace(spec.substr(0, dash));
    std::string_view b = TrimSpace(spec.substr(dash + 1));
    ByteRange r;
    if (a.empty()) {  // suffix range: the last N bytes
      uint64_t n = 0;
      if (!ParseU64(b, &n)) return Invalid(spec);
      if (n == 0 || size == 0) continue;  // unsatisfiable
      r.first = n >= size ? 0 : size - n;
      r.last = size - 1;
      out.push_back(r);
      continue;
    }
    if (!ParseU64(a, &r.first)) return Invalid(spec);
    if (b.empty()) {
      r.last = std::numeric_limits<uint64_t>::max();
    } else if (!ParseU64(b, &r.last) || r.last < r.first) {
      return Invalid(spec);
    }
    if (r.first >= size) continue;  // unsatisfiable
    if (r.last >= size) r.last = size - 1;
    out.push_back(r);
  }
  if (count == 0) return Invalid(header);
  if (out.empty())
    return OutOfRange("range not satisfiable: the object has " + std::to_string(size) + " bytes");
  return out;
}

bool RangeStartsAtZero(std::string_view header) {
  Result<std::vector<ByteRange>> ranges =
      ResolveRanges(header, std::numeric_limits<uint64_t>::max());
  return ranges.ok() && (ranges->empty() || (ranges->size() == 1 && (*ranges)[0].first == 0));
}

MultipartRanges::MultipartRanges(std::vector<ByteRange> ranges, uint64_t size)
    : ranges_(std::move(ranges)), size_(size) {
  // Random, so that no object's bytes can be made to look like a delimiter on purpose.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng()));
  boundary_ = std::string("unicache-") + hex;
}

std::string MultipartRanges::content_type() const {
  return "multipart/byteranges; boundary=" + boundary_;
}

uint64_t MultipartRanges::content_length() const {
  uint64_t n = Tail().size();
  for (size_t i = 0; i < ranges_.size(); ++i) n += PartHead(i).size() + ranges_[i].length();
  return n;
}

std::string MultipartRanges::PartHead(size_t i) const {
  return std::string(i == 0 ? "" : "\r\n") + "--" + boundary_ +
         "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes " +
         std::to_string(ranges_[i].first) + "-" + std::to_string(ranges_[i].last) + "/" +
         std::to_string(size_) + "\r\n\r\n";
}

std::string MultipartRanges::Tail() const { return "\r\n--" + boundary_ + "--\r\n"; }

}  // namespace unicache

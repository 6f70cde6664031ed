#include "common/http_answer.h"

#include <charconv>

namespace unicache {
namespace {

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string NormalizeEtag(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::string QuoteEtag(std::string_view version) { return "\"" + std::string(version) + "\""; }

std::optional<ContentRange> ParseContentRange(std::string_view value) {
  if (!value.starts_with("bytes ")) return std::nullopt;
  value.remove_prefix(6);
  const size_t dash = value.find('-');
  const size_t slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  ContentRange r;
  if (!ParseDecimal(value.substr(0, dash), &r.first) ||
      !ParseDecimal(value.substr(dash + 1, slash - dash - 1), &r.last) || r.last < r.first) {
    return std::nullopt;
  }
  std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    uint64_t t = 0;
    if (!ParseDecimal(total, &t) || r.last >= t) return std::nullopt;
    r.total = t;
  }
  return r;
}

Status CheckRangeAnswer(const HttpResponse& head, const RangeQuestion& q, const std::string& what) {
  auto refuse = [&](const std::string& why) {
    return Unavailable(what + ": the answer is not the one asked for (" + why + ")");
  };
  uint64_t first = 0;
  uint64_t length = 0;  // of the answer's body
  if (head.status == 206) {
    std::optional<ContentRange> range = ParseContentRange(head.Header("content-range"));
    if (!range) return refuse("Content-Range '" + head.Header("content-range").substr(0, 80) + "'");
    if (q.size != RangeQuestion::kUnknown && range->total && *range->total != q.size) {
      return refuse("object of " + std::to_string(*range->total) + " bytes, expected " +
                    std::to_string(q.size));
    }
    first = range->first;
    length = range->last - range->first + 1;
    // Fewer bytes than asked are right only where the object ends.
    const bool short_at_end = length < q.length && range->total && range->last + 1 == *range->total;
    if (first != q.offset || length > q.length || (length < q.length && !short_at_end)) {
      return refuse("bytes " + std::to_string(first) + "-" + std::to_string(range->last) +
                    ", asked for " + std::to_string(q.length) + " at " + std::to_string(q.offset));
    }
  } else if (head.status == 200) {
    if (q.offset != 0)
      return refuse("the whole object, asked for a range at " + std::to_string(q.offset));
    const std::string cl = head.Header("content-length");
    if (!cl.empty() && !ParseDecimal(cl, &length)) return refuse("Content-Length '" + cl + "'");
    if (cl.empty()) length = q.length;
    if (q.size != RangeQuestion::kUnknown && length != q.size) {
      return refuse("a whole object of " + std::to_string(length) + " bytes, expected " +
                    std::to_string(q.size));
    }
    if (length > q.length) {
      return refuse("the whole object of " + std::to_string(length) + " bytes, asked for " +
                    std::to_string(q.length));
    }
  } else {
    return refuse("HTTP " + std::to_string(head.status));
  }
  if (const std::string cl = head.Header("content-length"); !cl.empty()) {
    uint64_t n = 0;
    if (!ParseDecimal(cl, &n) || n != length) {
      return refuse("Content-Length " + cl + " for a range of " + std::to_string(length));
    }
  }
  if (const std::string served = NormalizeEtag(head.Header("etag"));
      !q.version.empty() && !served.empty() && served != q.version) {
    return refuse("version " + served + ", expected " + std::string(q.version));
  }
  return Status::Ok();
}

Status CheckKvKeyAnswer(const HttpResponse& head, std::string_view key_hex,
                        const std::string& what) {
  const std::string served = head.Header(kKvKeyHeader);
  if (served == key_hex) return Status::Ok();
  return Unavailable(what + ": the answer is not the one asked for (the value of key '" +
                     served.substr(0, 64) + "')");
}

}  // namespace unicache

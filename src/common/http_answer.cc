#include "common/http_answer.h"

#include "common/text.h"

namespace unicache {

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
  std::optional<uint64_t> first = ParseDecimal<uint64_t>(value.substr(0, dash));
  std::optional<uint64_t> last = ParseDecimal<uint64_t>(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange r{*first, *last, std::nullopt};
  std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    r.total = ParseDecimal<uint64_t>(total);
    if (!r.total || r.last >= *r.total) return std::nullopt;
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
    std::optional<uint64_t> cl_value = ParseDecimal<uint64_t>(cl);
    if (!cl.empty() && !cl_value) return refuse("Content-Length '" + cl + "'");
    length = cl.empty() ? q.length : *cl_value;
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
    if (ParseDecimal<uint64_t>(cl) != length) {
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

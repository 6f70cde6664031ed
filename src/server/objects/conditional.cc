#include "server/objects/conditional.h"

#include "common/http_answer.h"
#include "common/http_date.h"
#include "common/text.h"

namespace unicache {
namespace {

// Returns whether the entity-tag list `header` ("*", or tags separated by commas) names
// `version`. Strong comparison skips weak tags (W/"..."); weak comparison ignores the marker.
// A bare, unquoted version is accepted too: some clients send the ETag as a listing printed it.
bool TagListMatches(std::string_view header, const std::string& version, bool weak) {
  header = TrimSpace(header);
  if (header == "*") return true;
  const std::string quoted = QuoteEtag(version);
  for (size_t pos = 0, comma = 0; comma != std::string_view::npos; pos = comma + 1) {
    comma = header.find(',', pos);
    std::string_view tag =
        TrimSpace(header.substr(pos, comma == std::string_view::npos ? header.npos : comma - pos));
    if (tag.starts_with("W/")) {
      if (!weak) continue;
      tag.remove_prefix(2);
    }
    if (tag == quoted || tag == version) return true;
  }
  return false;
}

// The object's Last-Modified as the client saw it: whole seconds.
int64_t LastModifiedSeconds(const ObjectInfo& object) { return object.mtime_ms / 1000; }

}  // namespace

Precondition EvaluatePreconditions(const Conditions& c, const ObjectInfo& object) {
  if (c.if_match) {
    if (!TagListMatches(*c.if_match, object.version, /*weak=*/false)) return Precondition::kFailed;
  } else if (c.if_unmodified_since) {
    std::optional<int64_t> date = ParseHttpDate(TrimSpace(*c.if_unmodified_since));
    if (date && LastModifiedSeconds(object) > *date / 1000) return Precondition::kFailed;
  }
  if (c.if_none_match) {
    if (TagListMatches(*c.if_none_match, object.version, /*weak=*/true)) {
      return Precondition::kNotModified;
    }
  } else if (c.if_modified_since) {
    std::optional<int64_t> date = ParseHttpDate(TrimSpace(*c.if_modified_since));
    if (date && LastModifiedSeconds(object) <= *date / 1000) return Precondition::kNotModified;
  }
  return Precondition::kPass;
}

bool RangeApplies(const Conditions& c, const ObjectInfo& object) {
  if (!c.if_range) return true;
  std::string_view v = TrimSpace(*c.if_range);
  if (v.starts_with("W/")) return false;  // a weak tag never matches here
  if (v.starts_with("\"")) return v == QuoteEtag(object.version);
  std::optional<int64_t> date = ParseHttpDate(v);
  return date && *date / 1000 == LastModifiedSeconds(object);
}

}  // namespace unicache

// Conditional requests (RFC 9110 section 13) on one object version: If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since, and If-Range, which decides whether a Range applies.
#pragma once

#include <optional>
#include <string_view>

#include "origin/origin.h"

namespace unicache {

// A request's conditional header values; nullopt where the header is absent.
struct Conditions {
  std::optional<std::string_view> if_match;
  std::optional<std::string_view> if_none_match;
  std::optional<std::string_view> if_modified_since;
  std::optional<std::string_view> if_unmodified_since;
  std::optional<std::string_view> if_range;
};

enum class Precondition {
  kPass,         // serve the request
  kNotModified,  // 304: the client's copy is current
  kFailed,       // 412: the object is not the version the client expects
};

// Evaluates the preconditions of a GET or HEAD of `object` in RFC 9110's order (section 13.2.2):
// If-Match (strong comparison), else If-Unmodified-Since; then If-None-Match (weak comparison),
// else If-Modified-Since. Dates compare at whole seconds, as Last-Modified states them; a date
// that does not parse is ignored.
Precondition EvaluatePreconditions(const Conditions& c, const ObjectInfo& object);

// Returns whether a Range header applies under If-Range (RFC 9110 section 13.1.5): when there is
// no If-Range, or it names this version (a strong entity tag) or its exact Last-Modified date.
// Otherwise the whole object is to be sent, so a resumed download never joins two versions.
bool RangeApplies(const Conditions& c, const ObjectInfo& object);

}  // namespace unicache

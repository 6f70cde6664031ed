// Splitting of an HTTP request target into a decoded path and query parameters.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace unicache {

struct RequestTarget {
  std::string path;                          // percent-decoded
  std::map<std::string, std::string> query;  // decoded; the last value of a repeated name wins

  // Returns the query value or `fallback`.
  std::string Param(const std::string& name, const std::string& fallback = "") const;
};

// Parses an origin-form target ("/v1/objects/a/b%20c?x=1"). InvalidArgument for targets that are
// not origin-form or carry malformed escapes.
Result<RequestTarget> ParseRequestTarget(std::string_view target);

}  // namespace unicache

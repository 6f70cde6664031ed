// Validation of object paths and prefixes that arrive from clients (URLs, FUSE, CLI).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace unicache {

// Longest object path accepted, in bytes.
inline constexpr size_t kMaxObjectPathBytes = 4096;

// Checks that `path` is a relative object path: non-empty, at most kMaxObjectPathBytes, no NUL or
// control bytes, no leading '/', no empty, "." or ".." segments, no backslashes.
// Returns InvalidArgument naming the problem otherwise.
Status ValidateObjectPath(std::string_view path);

// Like ValidateObjectPath, but an empty prefix (the whole origin) and a trailing '/' are allowed.
Status ValidatePrefix(std::string_view prefix);

// Decodes %XX escapes in a URL path component. Rejects malformed escapes and encoded NUL.
Result<std::string> PercentDecode(std::string_view text);

// Encodes everything except unreserved characters and, if `keep_slash`, '/'.
std::string PercentEncode(std::string_view text, bool keep_slash = true);

}  // namespace unicache

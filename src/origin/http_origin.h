// The plain HTTP dialect of ObjectStoreOrigin: any HTTP server (nginx, a CDN, a signed URL base)
// as a read-only origin. GET and HEAD with Range; the version is the strong ETag, or
// Last-Modified and size where the server gives no strong ETag; block reads carry If-Match (or
// If-Unmodified-Since) and the answer's version is checked too. No listing and no writes: `ls`,
// the FUSE mount's directories and PUT get an error saying so.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "origin/object_store_origin.h"
#include "origin/origin.h"

namespace unicache {

// The parts of http(s)://HOST[:PORT][/BASE/][?QUERY].
struct HttpOriginUri {
  std::string scheme;     // "http" or "https"
  std::string authority;  // host[:port]
  std::string base;       // the path objects are under: starts and ends with '/'
  std::string query;      // sent with every request (a signed URL base's token); never logged
};

// Parses an http(s):// origin URI. InvalidArgument names the problem (never echoing the query).
Result<HttpOriginUri> ParseHttpOriginUri(std::string_view uri);

// The version of an object an HTTP answer's head states: its strong ETag (unquoted); without
// one, "lm-<Last-Modified in epoch ms>-<size>"; "" when it states neither.
std::string HttpVersionOf(const HttpResponse& head);

// Opens the server named by `uri`. Does no network I/O.
Result<std::unique_ptr<Origin>> OpenHttpOrigin(std::string_view uri,
                                               const ObjectStoreOptions& options = {});

}  // namespace unicache

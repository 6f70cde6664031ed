// Checks that an HTTP answer is the one its request asked for, and the ETag helpers those checks
// share. Every ranged read unicache sends (clients, peers, origins) is checked here: a response
// that carries another range, another length or another version is never taken as data.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "common/http_client.h"
#include "common/status.h"

namespace unicache {

// The header in which a node states an object's modification time in Unix milliseconds, beside
// Last-Modified (whole seconds), so that one version has one mtime in listings and stats alike.
// Lower-case, as HttpResponse keys headers.
inline constexpr const char* kLastModifiedMsHeader = "x-unicache-last-modified-ms";

// The request header that marks a node-to-node request. A node that receives it serves the
// block or key itself (cache or origin) and never forwards again, so routing takes one hop at
// most, even while membership views disagree. Its value is the sender's member id.
inline constexpr const char* kForwardedHeader = "X-Unicache-Forwarded";

// The header in which a node states an error's reason when answering HEAD, which has no body
// for the JSON error. Lower-case, as above.
inline constexpr const char* kErrorHeader = "x-unicache-error";

// The header in which a node names the KV key (hex) whose value a 200 answer carries.
inline constexpr const char* kKvKeyHeader = "x-unicache-key";

// Returns `etag` without surrounding double quotes (and without a weak "W/" marker).
std::string NormalizeEtag(std::string_view etag);

// Returns the quoted form of a version made by NormalizeEtag, as If-Match and ETag carry it.
std::string QuoteEtag(std::string_view version);

// A Content-Range value "bytes FIRST-LAST/TOTAL" (TOTAL may be "*": unknown).
struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;
  std::optional<uint64_t> total;
};

// Parses a Content-Range value of a 206 answer; nullopt when it is malformed.
std::optional<ContentRange> ParseContentRange(std::string_view value);

// What a ranged read asked for.
struct RangeQuestion {
  static constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();
  uint64_t offset = 0;
  uint64_t length = 0;       // bytes asked for (the answer may not be longer)
  uint64_t size = kUnknown;  // the object's size, when the asker knows it
  std::string_view version;  // the object's version (ETag, unquoted), "" when unknown
};

// Checks a 2xx answer's status and headers against `q`: a 206 whose Content-Range starts at
// q.offset, covers q.length bytes (fewer only where the object ends) and states q.size; a 200
// only for a read from offset 0 whose length covers the whole object; a Content-Length equal to
// the range's; the ETag equal to q.version when both are known. Returns Unavailable (a retryable
// transport fault, never data) saying what differs; `what` names the request.
Status CheckRangeAnswer(const HttpResponse& head, const RangeQuestion& q, const std::string& what);

// Checks that a 200 answer to a KV GET carries the value of `key_hex` (kKvKeyHeader). Returns
// Unavailable (a retryable transport fault, never data) otherwise; `what` names the request.
Status CheckKvKeyAnswer(const HttpResponse& head, std::string_view key_hex,
                        const std::string& what);

}  // namespace unicache

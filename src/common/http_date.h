// HTTP dates (RFC 9110 section 5.6.7), written and read the same way everywhere: responses'
// Last-Modified, conditional request headers, Retry-After, origins' answers, request signing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace unicache {

// Formats Unix epoch milliseconds as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); the
// milliseconds are dropped. Independent of the C locale.
std::string FormatHttpDate(int64_t epoch_ms);

// Parses an HTTP date into Unix epoch milliseconds: the IMF-fixdate, and the two obsolete forms
// a recipient must accept (RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6
// 08:49:37 1994"). nullopt for anything else.
std::optional<int64_t> ParseHttpDate(std::string_view text);

// Parses a Retry-After header value: delta-seconds or an HTTP date (how long from now, 0 when
// past). nullopt if unparseable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value);

}  // namespace unicache

// Helpers shared by the HTTP object-store backends (Azure Blob, S3): origin URI queries, dates,
// ETags and ranged reads straight into a caller's buffer.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "common/http_answer.h"
#include "common/http_client.h"
#include "common/http_date.h"
#include "common/status.h"
#include "origin/origin.h"

namespace unicache {

// Parses "a=1&b=2" (values percent-decoded). InvalidArgument for a name not in `allowed`; the
// message names the parameter, never its value (it may be a credential pasted by mistake).
Result<std::map<std::string, std::string>> ParseUriQuery(
    std::string_view query, std::initializer_list<std::string_view> allowed);

// Returns Unix epoch milliseconds for an ISO 8601 UTC time ("2009-10-12T17:50:30.000Z"), or 0.
int64_t ParseIsoDateMs(std::string_view text);

// Sends `req` and places a 2xx response body in `dst`; HttpResponse::body_bytes says how many
// bytes landed there. Other responses keep their (error) body in HttpResponse::body.
Result<HttpResponse> SendInto(HttpClient& client, HttpRequest req, std::span<std::byte> dst);

// Checks that a 2xx answer to a read at `offset` is the one asked for: a 200 (whole object)
// only for a read from offset 0, a 206 whose Content-Range starts at `offset` (else Unavailable,
// retried), and the served ETag equal to `version` when both are known (some servers ignore
// If-Match; PreconditionFailed). `what` names the request in errors.
Status CheckServedRead(const HttpResponse& resp, uint64_t offset, std::string_view version,
                       const std::string& what);

// Returns the Range header value for `length` bytes at `offset` (kToEnd: to the end), or ""
// for a whole object, which is asked for without a Range header.
std::string RangeValue(uint64_t offset, uint64_t length);

// Sends a GET (`req`, carrying RangeValue(offset, length)) whose 2xx body goes to `sink` as it
// arrives, once CheckServedRead() accepts the response. Returns the response; body_bytes counts
// what `sink` received. Other responses (a 416 for an offset past the end, errors) are left to the
// caller. `what` names the object in errors.
Result<HttpResponse> StreamBody(HttpClient& client, HttpRequest req, uint64_t offset,
                                uint64_t length, std::string_view version, const ByteSink& sink,
                                const std::string& what);

// Returns the metadata of `path` that a 2xx answer to a read from offset 0 states: the size from
// Content-Range's total (206) or Content-Length (200), the version from the ETag, and
// Last-Modified. Internal when a 206 gives no total size.
Result<ObjectInfo> InfoFromRead(const HttpResponse& resp, std::string_view path);

// Sends a GET (`req`, carrying RangeValue(0, length)) of any version of `path`: hands the
// metadata its 2xx answer states (InfoFromRead) to `on_info`, then the body to `sink` as it
// arrives. Returns the response as StreamBody() does; other responses are left to the caller.
// `*informed` says whether `on_info` was called. `what` names the object in errors.
Result<HttpResponse> OpenBody(HttpClient& client, HttpRequest req, std::string_view path,
                              uint64_t length, const InfoSink& on_info, const ByteSink& sink,
                              const std::string& what, bool* informed);

// Returns true when an open that got `resp` before any metadata should learn the metadata from
// a Stat() instead: a 416 (a range of an empty object is unsatisfiable) or a transport failure
// (emulators garble that 416, or the answer was cut short; a Stat() then retries it).
bool OpenNeedsStat(const Result<HttpResponse>& resp, bool informed);

}  // namespace unicache

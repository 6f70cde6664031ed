// Helpers of the HTTP object-store origin (object_store_origin): origin URI queries, dates,
// versions and ranged reads straight into a caller's buffer or a sink.
#pragma once

#include <cstddef>
#include <functional>
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

// An origin URI after its "scheme://": the part before '?' and the query after it.
struct UriParts {
  std::string_view path;   // e.g. "ACCOUNT/CONTAINER/PREFIX" or "BUCKET/PREFIX"
  std::string_view query;  // "" when there is none
};
UriParts SplitUriQuery(std::string_view after_scheme);

// Returns `text` as an origin's root in its store: "" or a valid prefix ending in '/'.
// InvalidArgument naming `what` otherwise.
Result<std::string> OriginRoot(std::string_view text, std::string_view what);

// Returns an endpoint URI parameter without trailing '/': "" or http(s)://... . InvalidArgument
// naming `what` otherwise.
Result<std::string> EndpointParam(std::string endpoint, std::string_view what);

// Parses "a=1&b=2" (values percent-decoded). InvalidArgument for a name not in `allowed`; the
// message names the parameter, never its value (it may be a credential pasted by mistake).
Result<std::map<std::string, std::string>> ParseUriQuery(
    std::string_view query, std::initializer_list<std::string_view> allowed);

// Returns `page` with `root` (the origin's prefix in its store) cut from every path.
ListPage RelativeToRoot(ListPage page, std::string_view root);

// Returns Unix epoch milliseconds for an ISO 8601 UTC time ("2009-10-12T17:50:30.000Z"), or 0.
int64_t ParseIsoDateMs(std::string_view text);

// How a store names the version an answer's head states; "" for none.
using VersionRule = std::function<std::string(const HttpResponse& head)>;

// The usual rule: the ETag, unquoted (NormalizeEtag).
std::string EtagVersion(const HttpResponse& head);

// Returns the object's size an answer's head states: Content-Range's total for a 206,
// Content-Length otherwise (a 200, a HEAD). nullopt when it states none.
std::optional<uint64_t> StatedSize(const HttpResponse& head);

// Sends `req` and places a 2xx response body in `dst`; HttpResponse::body_bytes says how many
// bytes landed there. Other responses keep their (error) body in HttpResponse::body.
Result<HttpResponse> SendInto(HttpClient& client, HttpRequest req, std::span<std::byte> dst);

// Checks that a 2xx answer to a read at `offset` is the one asked for: a 200 (whole object)
// only for a read from offset 0, a 206 whose Content-Range starts at `offset` (else Unavailable,
// retried), and the served version (by `rule`) equal to `version` when both are known (some
// servers ignore If-Match; PreconditionFailed). `what` names the request in errors.
Status CheckServedRead(const HttpResponse& resp, uint64_t offset, std::string_view version,
                       const VersionRule& rule, const std::string& what);

// Returns the Range header value for `length` bytes at `offset` (kToEnd: to the end), or ""
// for a whole object, which is asked for without a Range header.
std::string RangeValue(uint64_t offset, uint64_t length);

// Sends a GET (`req`, carrying RangeValue(offset, length)) whose 2xx body goes to `sink` as it
// arrives, once CheckServedRead() accepts the response. Returns the response; body_bytes counts
// what `sink` received. Other responses (a 416 for an offset past the end, errors) are left to the
// caller. `what` names the object in errors.
Result<HttpResponse> StreamBody(HttpClient& client, HttpRequest req, uint64_t offset,
                                uint64_t length, std::string_view version, const VersionRule& rule,
                                const ByteSink& sink, const std::string& what);

// Returns the metadata of `path` that a 2xx answer to a read from offset 0 (or a HEAD) states:
// StatedSize, the version by `rule`, and Last-Modified. Internal when it states no size.
Result<ObjectInfo> InfoFromRead(const HttpResponse& resp, std::string_view path,
                                const VersionRule& rule);

// Sends a GET (`req`, carrying RangeValue(0, length)) of any version of `path`: hands the
// metadata its 2xx answer states (InfoFromRead) to `on_info`, then the body to `sink` as it
// arrives. Returns the response as StreamBody() does; other responses are left to the caller.
// `*informed` says whether `on_info` was called. `what` names the object in errors.
Result<HttpResponse> OpenBody(HttpClient& client, HttpRequest req, std::string_view path,
                              uint64_t length, const VersionRule& rule, const InfoSink& on_info,
                              const ByteSink& sink, const std::string& what, bool* informed);

// Returns true when an open that got `resp` before any metadata should learn the metadata from
// a Stat() instead: a 416 (a range of an empty object is unsatisfiable) or a transport failure
// (emulators garble that 416, or the answer was cut short; a Stat() then retries it).
bool OpenNeedsStat(const Result<HttpResponse>& resp, bool informed);

}  // namespace unicache

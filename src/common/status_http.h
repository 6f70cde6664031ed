// Status over HTTP, both ways, in one table: the HTTP status a node answers an error with, the
// JSON error body it sends, and the Status a client or a peer reads back from such an answer.
// (Origins' answers are another vocabulary: origin/http_status.h maps those.)
#pragma once

#include <string>
#include <string_view>

#include "common/http_client.h"
#include "common/status.h"

namespace unicache {

// Returns the HTTP status for `status`: InvalidArgument 400, PermissionDenied 403, NotFound 404,
// AlreadyExists 409, PreconditionFailed 412, OutOfRange 416, Internal 500, Unimplemented 501,
// Unavailable and ChecksumMismatch 502, ResourceExhausted 503 (507 with kQuotaExceeded),
// DeadlineExceeded 504.
int HttpStatusFor(const Status& status);

// Returns the JSON body of an error answer: {"error": message, "code": name[, "detail": name]}.
std::string ErrorBody(const Status& status);

// Returns the Status a node's non-2xx answer carries, its message prefixed with `what`: code,
// detail and message from the JSON body (or, for a HEAD, the reason in the x-unicache-error
// header), else from the HTTP status alone; a Retry-After header rides along.
Status StatusFromAnswer(const HttpResponse& resp, std::string_view what);

}  // namespace unicache

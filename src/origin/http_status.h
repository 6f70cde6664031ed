// Maps HTTP responses of object stores onto Status codes; a server's Retry-After hint rides in
// the Status (Status::retry_after()) so that the retry layer can honour it.
#pragma once

#include <string>
#include <string_view>

#include "common/http_client.h"
#include "common/status.h"

namespace unicache {

// Returns the Status for a non-2xx `resp` of an operation described by `what` (e.g.
// "GET container/key"): 404->NotFound, 412->PreconditionFailed, 401/403->PermissionDenied,
// 408->DeadlineExceeded, 416->OutOfRange, 429/5xx->Unavailable (with any Retry-After),
// other 4xx->InvalidArgument. `error_code` is the store's own error name (e.g. "BlobNotFound"),
// appended when non-empty. The message never contains credentials.
Status HttpErrorStatus(const HttpResponse& resp, std::string_view what,
                       std::string_view error_code = "");

}  // namespace unicache

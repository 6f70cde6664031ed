// S3's errors: a code clients act on ("NoSuchKey", "SignatureDoesNotMatch"), an HTTP status and
// a message, sent as S3's <Error> XML.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "server/http/http_server.h"

namespace unicache {

struct S3Error {
  int status = 500;
  std::string code;  // S3's error code
  std::string message;
};

// Returns the S3 error for an error of the shared read and write path answered with `status`
// (404 NoSuchKey, 412 PreconditionFailed, 416 InvalidRange, 503 SlowDown, ...).
S3Error S3ErrorFor(int status, const Status& error);
// The same, with the status the error maps to (HttpStatusFor).
S3Error S3ErrorFor(const Status& error);

// Returns the <Error> document for `error`; `resource` is the bucket and key asked for.
std::string S3ErrorXml(const S3Error& error, std::string_view resource,
                       std::string_view request_id);

// Returns an ErrorFormat that renders every error as S3 XML (the S3 port's own errors included).
ErrorFormat S3ErrorFormat();

}  // namespace unicache

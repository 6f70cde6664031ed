#include "server/s3/s3_error.h"

#include "common/status_http.h"
#include "server/s3/s3_xml.h"

namespace unicache {

S3Error S3ErrorFor(int status, const Status& error) {
  auto make = [&](int s, const char* code) { return S3Error{s, code, error.message()}; };
  switch (status) {
    case 304:
      return make(304, "NotModified");
    case 400:
      return error.code() == StatusCode::kChecksumMismatch ? make(400, "BadDigest")
                                                           : make(400, "InvalidArgument");
    case 403:
      return make(403, "AccessDenied");
    case 404:
      return make(404, "NoSuchKey");
    case 405:
      return make(405, "MethodNotAllowed");
    case 411:
      return make(411, "MissingContentLength");
    case 412:
      return make(412, "PreconditionFailed");
    case 413:
      return make(400, "EntityTooLarge");
    case 416:
      return make(416, "InvalidRange");
    case 431:
      return make(400, "RequestHeaderSectionTooLarge");
    case 501:
      return make(501, "NotImplemented");
    case 503:
      return error.code() == StatusCode::kResourceExhausted ? make(503, "SlowDown")
                                                            : make(503, "ServiceUnavailable");
    case 504:
      return make(503, "ServiceUnavailable");
    default:
      return status >= 400 && status < 500 ? make(status, "InvalidRequest")
                                           : make(500, "InternalError");
  }
}

S3Error S3ErrorFor(const Status& error) {
  if (error.code() == StatusCode::kUnimplemented) return S3ErrorFor(501, error);
  if (error.code() == StatusCode::kChecksumMismatch) return S3ErrorFor(400, error);
  return S3ErrorFor(HttpStatusFor(error), error);
}

std::string S3ErrorXml(const S3Error& error, std::string_view resource,
                       std::string_view request_id) {
  XmlWriter x("Error", /*with_namespace=*/false);
  x.Add("Code", error.code);
  x.Add("Message", error.message);
  if (!resource.empty()) x.Add("Resource", resource);
  x.Add("RequestId", request_id);
  return x.Finish();
}

ErrorFormat S3ErrorFormat() {
  return [](int status, const Status& error) {
    return ErrorBodyText{S3ErrorXml(S3ErrorFor(status, error), "", ""), "application/xml"};
  };
}

}  // namespace unicache

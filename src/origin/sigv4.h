// AWS Signature Version 4 for S3 requests: the S3 origin signs with it, the S3 endpoint
// (server/s3) verifies with it, so both read one implementation.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace unicache {

// Static AWS credentials. Value type; never log it.
struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" unless temporary credentials
};

// The parts of a request that SigV4 covers.
struct SigV4Request {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // the URI path exactly as sent (already percent-encoded)
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // must include host and x-amz-date
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// The value of x-amz-content-sha256 for requests whose body is not hashed.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Returns the time as "YYYYMMDDTHHMMSSZ" (x-amz-date).
std::string AmzDate(std::chrono::system_clock::time_point t);

// Returns the canonical query string: names and values encoded, sorted by name then value.
std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query);

// Returns the signed-headers list ("host;x-amz-date") for `headers`.
std::string SignedHeaders(const std::vector<std::pair<std::string, std::string>>& headers);

// Returns the canonical request: header names lower-cased, values trimmed with inner runs of
// spaces collapsed, duplicates joined with ',', all sorted by name.
std::string CanonicalRequest(const SigV4Request& req);

// Returns the string to sign for `amz_date` (YYYYMMDDTHHMMSSZ) and the credential scope.
std::string SigV4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request);

// Returns the signing key derived from the secret for `date` (YYYYMMDD), region and service.
std::string SigV4SigningKey(std::string_view secret_access_key, std::string_view date,
                            std::string_view region, std::string_view service);

// Returns the credential scope "YYYYMMDD/region/service/aws4_request".
std::string SigV4Scope(std::string_view date, std::string_view region, std::string_view service);

// Returns the hex signature of `string_to_sign` under `signing_key`.
std::string SigV4Signature(std::string_view signing_key, std::string_view string_to_sign);

// Returns the Authorization header value for `req`. `amz_date` must equal req's x-amz-date.
std::string SigV4Authorization(const AwsCredentials& creds, std::string_view region,
                               std::string_view service, std::string_view amz_date,
                               const SigV4Request& req);

}  // namespace unicache

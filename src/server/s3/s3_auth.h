// Who may use the S3 endpoint: the keys of --s3-keys and SigV4 verification of each request
// (the Authorization header, presigned URLs with X-Amz-Signature), with clock-skew and expiry
// checks. The signature is computed with the S3 origin's SigV4 code (origin/sigv4.h).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "server/http/http_server.h"
#include "server/s3/aws_chunked.h"
#include "server/s3/s3_error.h"

namespace unicache {

// One key of --s3-keys. Never log the secret.
struct S3Key {
  std::string access_key;
  std::string secret;
  bool all_buckets = false;
  std::set<std::string> buckets;
  bool Allows(const std::string& bucket) const { return all_buckets || buckets.count(bucket) > 0; }
};

// The keys file: one key a line, "ACCESS_KEY SECRET_KEY BUCKET[,BUCKET...]" or "... *" for every
// bucket; blank lines and lines starting with '#' are skipped. Immutable once loaded.
class S3Keys {
 public:
  S3Keys() = default;
  // InvalidArgument naming the line (never its secret) for a malformed line or a repeated key.
  static Result<S3Keys> Parse(std::string_view text);
  // Reads and parses the file; the file must not be readable by others (it holds secrets):
  // a world-readable file is refused with a message saying to chmod it.
  static Result<S3Keys> Load(const std::string& path);
  const S3Key* Find(std::string_view access_key) const;
  bool empty() const { return keys_.empty(); }

 private:
  std::map<std::string, S3Key, std::less<>> keys_;
};

// How a request's body is authenticated.
enum class S3Payload {  // the order of S3Routes' counters
  kSha256,              // x-amz-content-sha256 is the body's SHA-256: checked as it streams
  kUnsigned,            // UNSIGNED-PAYLOAD (or an anonymous request)
  kStreamingSigned,     // aws-chunked with chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD*)
  kStreamingUnsigned,   // aws-chunked without (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
};

// A verified request: who sent it and how its body is to be checked.
struct S3Caller {
  const S3Key* key = nullptr;  // null: anonymous
  S3Payload payload = S3Payload::kUnsigned;
  std::string payload_sha256;                 // kSha256: the hex digest stated
  std::optional<ChunkSigning> chunk_signing;  // kStreamingSigned
  bool trailer = false;  // a *-TRAILER stream: the trailer may carry a checksum and signature
};

struct S3AuthOptions {
  S3Keys keys;
  bool anonymous_reads = false;        // requests with no signature may read (GET/HEAD) any bucket
  std::chrono::seconds max_skew{900};  // S3's own limit: 15 minutes
};

// Thread-safe (immutable).
class S3Auth {
 public:
  explicit S3Auth(S3AuthOptions options) : options_(std::move(options)) {}

  // Verifies `req`, whose request line's path is `raw_path` (as sent, still percent-encoded)
  // and query `raw_query`, at time `now`. Returns the caller, or the S3 error to answer:
  // InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed, AccessDenied (no
  // signature and no anonymous reads; an expired presigned URL), AuthorizationHeaderMalformed.
  // Bucket permissions are the caller's to check (S3Key::Allows).
  std::optional<S3Error> Verify(const Request& req, std::string_view raw_path,
                                std::string_view raw_query,
                                std::chrono::system_clock::time_point now, S3Caller* caller) const;

  bool anonymous_reads() const { return options_.anonymous_reads; }

 private:
  S3AuthOptions options_;
};

// Splits a raw query string into decoded name/value pairs, in order ("uploads" gives
// {"uploads", ""}). InvalidArgument for malformed escapes.
Result<std::vector<std::pair<std::string, std::string>>> SplitQuery(std::string_view raw_query);

// Parses "YYYYMMDDTHHMMSSZ"; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> ParseAmzDate(std::string_view text);

}  // namespace unicache

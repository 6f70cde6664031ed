#include "server/s3/s3_auth.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/object_path.h"
#include "common/text.h"
#include "origin/sigv4.h"

namespace unicache {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr int64_t kMaxPresignedSeconds = 7 * 24 * 3600;  // S3's limit: 7 days

S3Error Err(int status, std::string code, std::string message) {
  return S3Error{status, std::move(code), std::move(message)};
}

// Compares two signatures in time independent of where they differ.
bool SameSignature(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::vector<std::string> SplitOn(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    out.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The parts of a SigV4 signature, from the Authorization header or a presigned URL's query.
struct SignatureParts {
  std::string access_key;
  std::string date;  // YYYYMMDD of the scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};

std::optional<S3Error> ParseCredential(std::string_view credential, SignatureParts* parts) {
  std::vector<std::string> c = SplitOn(credential, '/');
  if (c.size() != 5 || c[0].empty() || c[1].size() != 8 || c[4] != "aws4_request") {
    return Err(400, "AuthorizationHeaderMalformed",
               "the credential must be ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request");
  }
  if (c[3] != "s3") {
    return Err(400, "AuthorizationHeaderMalformed",
               "the credential's service is '" + c[3] + "'; this endpoint is 's3'");
  }
  parts->access_key = c[0];
  parts->date = c[1];
  parts->region = c[2];
  parts->service = c[3];
  return std::nullopt;
}

// Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
std::optional<S3Error> ParseAuthorization(std::string_view header, SignatureParts* parts) {
  if (!header.starts_with(kAlgorithm) || header.size() == kAlgorithm.size() ||
      header[kAlgorithm.size()] != ' ') {
    return Err(400, "InvalidRequest",
               "the authorization mechanism given is not supported: use AWS4-HMAC-SHA256 "
               "(Signature Version 4)");
  }
  std::string credential, signed_headers;
  for (const std::string& item : SplitOn(header.substr(kAlgorithm.size() + 1), ',')) {
    std::string_view kv = TrimSpace(item);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (name == "Credential") credential = std::string(value);
    if (name == "SignedHeaders") signed_headers = std::string(value);
    if (name == "Signature") parts->signature = std::string(value);
  }
  if (credential.empty() || signed_headers.empty() || parts->signature.empty()) {
    return Err(400, "AuthorizationHeaderMalformed",
               "the Authorization header needs Credential, SignedHeaders and Signature");
  }
  parts->signed_headers = SplitOn(signed_headers, ';');
  return ParseCredential(credential, parts);
}

const std::string* FindParam(const std::vector<std::pair<std::string, std::string>>& query,
                             std::string_view name) {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace

Result<S3Keys> S3Keys::Parse(std::string_view text) {
  S3Keys keys;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string_view t = TrimSpace(line);
    if (t.empty() || t.front() == '#') continue;
    std::istringstream fields{std::string(t)};
    S3Key key;
    std::string buckets, extra;
    fields >> key.access_key >> key.secret >> buckets;
    const std::string where = "--s3-keys line " + std::to_string(number);
    if (buckets.empty() || (fields >> extra)) {
      return InvalidArgument(where +
                             ": expected 'ACCESS_KEY SECRET_KEY BUCKET[,BUCKET...]' or "
                             "'ACCESS_KEY SECRET_KEY *'");
    }
    if (buckets == "*") {
      key.all_buckets = true;
    } else {
      for (const std::string& b : SplitOn(buckets, ',')) {
        if (b.empty()) return InvalidArgument(where + ": an empty bucket name in the list");
        key.buckets.insert(b);
      }
    }
    const std::string access = key.access_key;
    if (!keys.keys_.emplace(access, std::move(key)).second) {
      return InvalidArgument(where + ": access key '" + access + "' is listed twice");
    }
  }
  return keys;
}

Result<S3Keys> S3Keys::Load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("--s3-keys " + path, errno);
  if ((st.st_mode & S_IROTH) != 0) {
    return InvalidArgument("--s3-keys " + path +
                           " is readable by every user and holds secrets: chmod 600 it");
  }
  std::ifstream in(path);
  if (!in) return ErrnoStatus("--s3-keys " + path, errno);
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str());
}

const S3Key* S3Keys::Find(std::string_view access_key) const {
  auto it = keys_.find(access_key);
  return it == keys_.end() ? nullptr : &it->second;
}

Result<std::vector<std::pair<std::string, std::string>>> SplitQuery(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> out;
  if (raw_query.empty()) return out;
  for (const std::string& item : SplitOn(raw_query, '&')) {
    if (item.empty()) continue;
    size_t eq = item.find('=');
    ASSIGN_OR_RETURN(std::string name, PercentDecode(std::string_view(item).substr(0, eq)));
    std::string value;
    if (eq != std::string::npos) {
      ASSIGN_OR_RETURN(value, PercentDecode(std::string_view(item).substr(eq + 1)));
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> ParseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto num = [&](size_t at, size_t len) { return ParseDecimal<int>(text.substr(at, len)); };
  std::optional<int> y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2),
                     s = num(13, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 ||
      *mi > 59 || *s > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *s;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::optional<S3Error> S3Auth::Verify(const Request& req, std::string_view raw_path,
                                      std::string_view raw_query,
                                      std::chrono::system_clock::time_point now,
                                      S3Caller* caller) const {
  *caller = S3Caller{};
  Result<std::vector<std::pair<std::string, std::string>>> query = SplitQuery(raw_query);
  if (!query.ok()) return Err(400, "InvalidArgument", query.status().message());
  auto authorization = req.find(http::field::authorization);
  const bool presigned = FindParam(*query, "X-Amz-Signature") != nullptr ||
                         FindParam(*query, "X-Amz-Algorithm") != nullptr;
  if (authorization == req.end() && !presigned && FindParam(*query, "AWSAccessKeyId") != nullptr) {
    return Err(400, "InvalidRequest",
               "presigned URLs of Signature Version 2 are not supported: sign with SigV4 "
               "(boto3: Config(signature_version='s3v4'))");
  }
  if (authorization == req.end() && !presigned) {
    const bool read = req.method() == http::verb::get || req.method() == http::verb::head;
    if (options_.anonymous_reads && read) return std::nullopt;
    return Err(403, "AccessDenied",
               options_.anonymous_reads
                   ? "anonymous requests may only read: sign writes with a key of --s3-keys"
                   : "anonymous requests are refused: sign with a key of --s3-keys (or start "
                     "the node with --s3-anonymous to allow anonymous reads)");
  }
  if (authorization != req.end() && presigned) {
    return Err(400, "InvalidArgument",
               "only one authentication mechanism is allowed: an Authorization header or a "
               "presigned URL's X-Amz-Signature");
  }

  SignatureParts parts;
  std::string amz_date;
  std::string payload_hash;
  std::vector<std::pair<std::string, std::string>> signed_query = *query;
  if (!presigned) {
    if (auto e = ParseAuthorization(authorization->value(), &parts)) return e;
    auto date = req.find("x-amz-date");
    if (date == req.end()) {
      return Err(403, "AccessDenied", "SigV4 requests need an x-amz-date header");
    }
    amz_date = std::string(date->value());
    auto sha = req.find("x-amz-content-sha256");
    if (sha == req.end()) {
      return Err(400, "InvalidRequest", "missing required header x-amz-content-sha256");
    }
    payload_hash = std::string(sha->value());
  } else {
    auto param = [&](std::string_view name) {
      const std::string* v = FindParam(*query, name);
      return v == nullptr ? std::string() : *v;
    };
    if (param("X-Amz-Algorithm") != kAlgorithm) {
      return Err(400, "AuthorizationQueryParametersError",
                 "X-Amz-Algorithm must be AWS4-HMAC-SHA256");
    }
    if (auto e = ParseCredential(param("X-Amz-Credential"), &parts)) {
      return Err(400, "AuthorizationQueryParametersError", e->message);
    }
    parts.signed_headers = SplitOn(param("X-Amz-SignedHeaders"), ';');
    parts.signature = param("X-Amz-Signature");
    amz_date = param("X-Amz-Date");
    std::optional<int64_t> expires = ParseDecimal<int64_t>(param("X-Amz-Expires"));
    if (!expires || *expires < 1 || *expires > kMaxPresignedSeconds) {
      return Err(400, "AuthorizationQueryParametersError",
                 "X-Amz-Expires must be a number of seconds in 1..604800");
    }
    std::optional<std::chrono::system_clock::time_point> signed_at = ParseAmzDate(amz_date);
    if (!signed_at) {
      return Err(400, "AuthorizationQueryParametersError", "X-Amz-Date must be YYYYMMDDTHHMMSSZ");
    }
    if (now + options_.max_skew < *signed_at) {
      return Err(403, "AccessDenied", "Request is not valid yet (X-Amz-Date is in the future)");
    }
    if (now > *signed_at + std::chrono::seconds(*expires)) {
      return Err(403, "AccessDenied", "Request has expired");
    }
    std::string stated = param("X-Amz-Content-Sha256");
    payload_hash = stated.empty() ? std::string(kUnsignedPayload) : stated;
    std::erase_if(signed_query, [](const auto& kv) { return kv.first == "X-Amz-Signature"; });
  }

  const S3Key* key = options_.keys.Find(parts.access_key);
  if (key == nullptr) {
    return Err(403, "InvalidAccessKeyId",
               "the access key id '" + parts.access_key + "' is not one of --s3-keys");
  }
  std::optional<std::chrono::system_clock::time_point> signed_at = ParseAmzDate(amz_date);
  if (!signed_at) return Err(403, "AccessDenied", "x-amz-date must be YYYYMMDDTHHMMSSZ");
  if (amz_date.substr(0, 8) != parts.date) {
    return Err(400, "AuthorizationHeaderMalformed",
               "the credential's date " + parts.date + " is not x-amz-date's day");
  }
  if (!presigned &&
      (*signed_at > now + options_.max_skew || *signed_at < now - options_.max_skew)) {
    return Err(403, "RequestTimeTooSkewed",
               "The difference between the request time and the server's time is too large "
               "(more than " +
                   std::to_string(options_.max_skew.count()) + " s): check the client's clock");
  }
  bool host_signed = false;
  SigV4Request canonical;
  canonical.method = std::string(req.method_string());
  canonical.query = std::move(signed_query);
  canonical.payload_hash = payload_hash;
  for (const std::string& name : parts.signed_headers) {
    host_signed = host_signed || name == "host";
    bool found = false;
    for (const auto& field : req) {
      if (AsciiLower(field.name_string()) == name) {
        canonical.headers.emplace_back(name, std::string(field.value()));
        found = true;
      }
    }
    if (!found) canonical.headers.emplace_back(name, "");
  }
  if (!host_signed) {
    return Err(400, "AuthorizationHeaderMalformed", "the host header must be signed");
  }
  const std::string signing_key = SigV4SigningKey(key->secret, parts.date, parts.region, "s3");
  const std::string scope = SigV4Scope(parts.date, parts.region, "s3");
  auto signature_for = [&](std::string uri) {
    canonical.canonical_uri = std::move(uri);
    return SigV4Signature(signing_key,
                          SigV4StringToSign(amz_date, scope, CanonicalRequest(canonical)));
  };
  bool match = SameSignature(signature_for(std::string(raw_path)), parts.signature);
  if (!match) {
    // A client may send a path encoded otherwise than it signed it (e.g. '+' or '!' left bare):
    // S3's canonical form encodes every byte but the unreserved ones and '/'.
    Result<std::string> decoded = PercentDecode(raw_path);
    if (decoded.ok() && PercentEncode(*decoded, true) != raw_path) {
      match = SameSignature(signature_for(PercentEncode(*decoded, true)), parts.signature);
    }
  }
  if (!match) {
    return Err(403, "SignatureDoesNotMatch",
               "The request signature we calculated does not match the signature you provided. "
               "Check your key and signing method.");
  }

  caller->key = key;
  if (payload_hash == kUnsignedPayload) {
    caller->payload = S3Payload::kUnsigned;
  } else if (payload_hash.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")) {
    caller->payload = S3Payload::kStreamingSigned;
    caller->trailer = payload_hash.ends_with("-TRAILER");
    caller->chunk_signing = ChunkSigning{signing_key, amz_date, scope, parts.signature};
  } else if (payload_hash == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
    caller->payload = S3Payload::kStreamingUnsigned;
    caller->trailer = true;
  } else if (IsHex64(payload_hash)) {
    caller->payload = S3Payload::kSha256;
    caller->payload_sha256 = payload_hash;
  } else {
    return Err(400, "InvalidArgument",
               "x-amz-content-sha256 must be a SHA-256 in hex, UNSIGNED-PAYLOAD or a "
               "STREAMING-* value");
  }
  return std::nullopt;
}

}  // namespace unicache

#include "origin/sigv4.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "common/crypto.h"
#include "common/object_path.h"
#include "common/text.h"

namespace unicache {
namespace {

// Trims the value and collapses inner runs of spaces to one, as SigV4 requires.
std::string NormalizeValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Returns headers grouped by lower-case name, values normalized and joined with ','.
std::map<std::string, std::string> Canonicalize(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : headers) {
    std::string& slot = out[AsciiLower(name)];
    if (!slot.empty()) slot.push_back(',');
    slot += NormalizeValue(value);
  }
  return out;
}

}  // namespace

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query)
    encoded.emplace_back(PercentEncode(k, false), PercentEncode(v, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += k + "=" + v;
  }
  return out;
}

std::string SignedHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  for (const auto& [name, value] : Canonicalize(headers)) {
    if (!out.empty()) out.push_back(';');
    out += name;
  }
  return out;
}

std::string CanonicalRequest(const SigV4Request& req) {
  std::string out = req.method + "\n" + (req.canonical_uri.empty() ? "/" : req.canonical_uri) +
                    "\n" + CanonicalQueryString(req.query) + "\n";
  for (const auto& [name, value] : Canonicalize(req.headers)) out += name + ":" + value + "\n";
  out += "\n" + SignedHeaders(req.headers) + "\n" + req.payload_hash;
  return out;
}

std::string SigV4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         Sha256Hex(canonical_request);
}

std::string SigV4SigningKey(std::string_view secret_access_key, std::string_view date,
                            std::string_view region, std::string_view service) {
  std::string key = HmacSha256("AWS4" + std::string(secret_access_key), date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  return HmacSha256(key, "aws4_request");
}

std::string SigV4Scope(std::string_view date, std::string_view region, std::string_view service) {
  return std::string(date) + "/" + std::string(region) + "/" + std::string(service) +
         "/aws4_request";
}

std::string SigV4Signature(std::string_view signing_key, std::string_view string_to_sign) {
  return HexOf(HmacSha256(signing_key, string_to_sign));
}

std::string SigV4Authorization(const AwsCredentials& creds, std::string_view region,
                               std::string_view service, std::string_view amz_date,
                               const SigV4Request& req) {
  const std::string_view date = amz_date.substr(0, 8);
  const std::string scope = SigV4Scope(date, region, service);
  const std::string signature =
      SigV4Signature(SigV4SigningKey(creds.secret_access_key, date, region, service),
                     SigV4StringToSign(amz_date, scope, CanonicalRequest(req)));
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
         ", SignedHeaders=" + SignedHeaders(req.headers) + ", Signature=" + signature;
}

}  // namespace unicache

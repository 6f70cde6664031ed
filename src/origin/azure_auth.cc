#include "origin/azure_auth.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "common/crypto.h"
#include "common/http_date.h"
#include "common/object_path.h"
#include "common/text.h"

namespace unicache {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Returns the header's value (case-insensitive name), or "".
std::string HeaderValue(const AzureRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (AsciiLower(k) == name) return v;
  }
  return "";
}

// Splits "scheme://host[:port][/path]" into origin and path (no trailing '/').
std::pair<std::string, std::string> SplitEndpoint(std::string_view endpoint) {
  size_t scheme = endpoint.find("://");
  size_t slash = endpoint.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  std::string origin(endpoint.substr(0, slash));
  std::string path = slash == std::string_view::npos ? "" : std::string(endpoint.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  return {origin, path};
}

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return PermissionDenied("cannot read the Azure token file named by AZURE_STORAGE_TOKEN_FILE");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = Trim(ss.str());
  if (token.empty()) return PermissionDenied("the Azure token file is empty");
  return token;
}

}  // namespace

Result<AzureConnectionString> ParseAzureConnectionString(std::string_view text) {
  std::map<std::string, std::string> fields;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t semi = text.find(';', pos);
    std::string_view part =
        text.substr(pos, semi == std::string_view::npos ? text.npos : semi - pos);
    pos = semi == std::string_view::npos ? text.size() + 1 : semi + 1;
    if (Trim(part).empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument("malformed Azure connection string: a part has no '='");
    }
    fields[AsciiLower(Trim(part.substr(0, eq)))] = Trim(part.substr(eq + 1));
  }
  AzureConnectionString cs;
  if (AsciiLower(fields["usedevelopmentstorage"]) == "true") {
    cs.account_name = kAzuriteAccount;
    cs.account_key = kAzuriteKey;
    cs.blob_endpoint = kAzuriteBlobEndpoint;
    return cs;
  }
  cs.account_name = fields["accountname"];
  cs.account_key = fields["accountkey"];
  cs.sas = fields["sharedaccesssignature"];
  if (!cs.sas.empty() && cs.sas.front() == '?') cs.sas.erase(0, 1);
  cs.blob_endpoint = fields["blobendpoint"];
  while (!cs.blob_endpoint.empty() && cs.blob_endpoint.back() == '/') cs.blob_endpoint.pop_back();
  if (cs.blob_endpoint.empty() && !cs.account_name.empty()) {
    std::string protocol = fields["defaultendpointsprotocol"].empty()
                               ? "https"
                               : AsciiLower(fields["defaultendpointsprotocol"]);
    if (protocol != "https" && protocol != "http") {
      return InvalidArgument(
          "Azure connection string: DefaultEndpointsProtocol must be http or https");
    }
    std::string suffix =
        fields["endpointsuffix"].empty() ? "core.windows.net" : fields["endpointsuffix"];
    cs.blob_endpoint = protocol + "://" + cs.account_name + ".blob." + suffix;
  }
  if (cs.account_key.empty() && cs.sas.empty() && cs.blob_endpoint.empty()) {
    return InvalidArgument(
        "Azure connection string has neither AccountKey, SharedAccessSignature nor BlobEndpoint");
  }
  return cs;
}

EnvLookup ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

Result<AzureCredentials> AzureCredentialsFromEnv(std::string_view account, const EnvLookup& env) {
  AzureCredentials creds;
  creds.account = std::string(account);
  if (auto cs_text = env("AZURE_STORAGE_CONNECTION_STRING")) {
    auto cs = ParseAzureConnectionString(*cs_text);
    if (!cs.ok()) return cs.status().WithContext("AZURE_STORAGE_CONNECTION_STRING");
    if (!cs->account_name.empty() && cs->account_name != account) {
      return InvalidArgument("AZURE_STORAGE_CONNECTION_STRING is for account '" + cs->account_name +
                             "', but the origin URI names '" + std::string(account) + "'");
    }
    creds.blob_endpoint = cs->blob_endpoint;
    if (!cs->account_key.empty()) {
      auto key = Base64Decode(cs->account_key);
      if (!key.ok())
        return InvalidArgument("AZURE_STORAGE_CONNECTION_STRING: AccountKey is not valid base64");
      creds.kind = AzureAuthKind::kSharedKey;
      creds.key = std::move(key).value();
    } else if (!cs->sas.empty()) {
      creds.kind = AzureAuthKind::kSas;
      creds.sas = cs->sas;
    }
    return creds;
  }
  if (auto key_text = env("AZURE_STORAGE_KEY")) {
    auto key = Base64Decode(Trim(*key_text));
    if (!key.ok()) return InvalidArgument("AZURE_STORAGE_KEY is not valid base64");
    creds.kind = AzureAuthKind::kSharedKey;
    creds.key = std::move(key).value();
  } else if (auto sas = env("AZURE_STORAGE_SAS_TOKEN")) {
    creds.kind = AzureAuthKind::kSas;
    creds.sas = Trim(*sas);
    if (!creds.sas.empty() && creds.sas.front() == '?') creds.sas.erase(0, 1);
  } else if (auto file = env("AZURE_STORAGE_TOKEN_FILE")) {
    creds.kind = AzureAuthKind::kBearer;
    creds.token_file = *file;
    RETURN_IF_ERROR(ReadTokenFile(creds.token_file).status());
  } else if (auto token = env("AZURE_STORAGE_TOKEN")) {
    creds.kind = AzureAuthKind::kBearer;
    creds.bearer_token = Trim(*token);
  }
  return creds;
}

std::string SharedKeyStringToSign(const AzureRequest& req, std::string_view account,
                                  std::string_view url_path, uint64_t content_length) {
  std::string out = req.method + "\n";
  out += HeaderValue(req, "content-encoding") + "\n";
  out += HeaderValue(req, "content-language") + "\n";
  out += (content_length == 0 ? std::string() : std::to_string(content_length)) + "\n";
  out += HeaderValue(req, "content-md5") + "\n";
  out += HeaderValue(req, "content-type") + "\n";
  out += "\n";  // Date: we always send x-ms-date instead
  for (const char* h :
       {"if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"}) {
    out += HeaderValue(req, h) + "\n";
  }
  // Canonicalized headers: x-ms-*, lower-case, sorted, values trimmed.
  std::map<std::string, std::string> ms;
  for (const auto& [k, v] : req.headers) {
    std::string name = AsciiLower(Trim(k));
    if (name.starts_with("x-ms-")) ms[name] = Trim(v);
  }
  for (const auto& [k, v] : ms) out += k + ":" + v + "\n";
  // Canonicalized resource: /account/path, then sorted lower-case query names with values.
  out += "/" + std::string(account) + std::string(url_path);
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [k, v] : req.query) params[AsciiLower(k)].push_back(v);
  for (auto& [k, values] : params) {
    std::sort(values.begin(), values.end());
    out += "\n" + k + ":";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  }
  return out;
}

std::string HttpDate(std::chrono::system_clock::time_point t) {
  return FormatHttpDate(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

Result<HttpRequest> BuildAzureHttpRequest(const AzureCredentials& creds, std::string_view endpoint,
                                          AzureRequest req,
                                          std::chrono::system_clock::time_point now) {
  auto [origin, base_path] = SplitEndpoint(endpoint);
  std::string url_path = base_path + req.path;
  // libcurl labels bodies it sends with a form Content-Type unless told otherwise, and the
  // Content-Type is signed: always name one for PUT/POST.
  if ((req.method == "PUT" || req.method == "POST") && HeaderValue(req, "content-type").empty()) {
    req.headers.emplace_back("Content-Type", "application/octet-stream");
  }
  req.headers.emplace_back("x-ms-date", HttpDate(now));
  req.headers.emplace_back("x-ms-version", std::string(kAzureApiVersion));
  std::string query;
  for (const auto& [k, v] : req.query) {
    query += (query.empty() ? "" : "&") + PercentEncode(k, false) + "=" + PercentEncode(v, false);
  }
  switch (creds.kind) {
    case AzureAuthKind::kAnonymous:
      break;
    case AzureAuthKind::kSharedKey: {
      const uint64_t length = req.body.empty() ? req.body_length : req.body.size();
      std::string to_sign = SharedKeyStringToSign(req, creds.account, url_path, length);
      req.headers.emplace_back("Authorization", "SharedKey " + creds.account + ":" +
                                                    Base64Encode(HmacSha256(creds.key, to_sign)));
      break;
    }
    case AzureAuthKind::kSas:
      query += (query.empty() ? "" : "&") + creds.sas;
      break;
    case AzureAuthKind::kBearer: {
      std::string token = creds.bearer_token;
      if (!creds.token_file.empty()) {
        ASSIGN_OR_RETURN(token, ReadTokenFile(creds.token_file));
      }
      req.headers.emplace_back("Authorization", "Bearer " + token);
      break;
    }
  }
  HttpRequest http;
  http.method = req.method;
  http.url = origin + url_path + (query.empty() ? "" : "?" + query);
  http.headers = std::move(req.headers);
  http.body = std::move(req.body);
  return http;
}

}  // namespace unicache

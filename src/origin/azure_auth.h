// Azure Storage authorization: connection strings, credentials from the environment, and Shared
// Key / SAS / bearer-token signing of Blob REST requests.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http_client.h"
#include "common/status.h"

namespace unicache {

// Azurite's well-known development account (public, documented, not a secret).
inline constexpr std::string_view kAzuriteAccount = "devstoreaccount1";
inline constexpr std::string_view kAzuriteKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
inline constexpr std::string_view kAzuriteBlobEndpoint = "http://127.0.0.1:10000/devstoreaccount1";

// The x-ms-version sent on every request (>= 2017-11-09, which bearer tokens require).
inline constexpr std::string_view kAzureApiVersion = "2021-08-06";

// The fields of a storage connection string that the Blob origin uses.
struct AzureConnectionString {
  std::string account_name;
  std::string account_key;    // base64, as written in the string
  std::string sas;            // SharedAccessSignature=..., without a leading '?'
  std::string blob_endpoint;  // explicit BlobEndpoint, or built from protocol/account/suffix
};

// Parses "Key=Value;..." (DefaultEndpointsProtocol, AccountName, AccountKey, BlobEndpoint,
// EndpointSuffix, SharedAccessSignature, UseDevelopmentStorage=true). Error messages name keys,
// never values.
Result<AzureConnectionString> ParseAzureConnectionString(std::string_view text);

enum class AzureAuthKind { kAnonymous, kSharedKey, kSas, kBearer };

// How requests to one account are authorized. Value type; holds secrets: never log it.
struct AzureCredentials {
  AzureAuthKind kind = AzureAuthKind::kAnonymous;
  std::string account;
  std::string key;            // decoded account key (kSharedKey)
  std::string sas;            // query string without '?' (kSas)
  std::string bearer_token;   // kBearer with a fixed token
  std::string token_file;     // kBearer with a token re-read from this file on every request
  std::string blob_endpoint;  // from a connection string; "" when it did not give one
};

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;

// Returns a lookup over the process environment.
EnvLookup ProcessEnv();

// Builds credentials for `account` from the environment, first match wins:
// AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN,
// AZURE_STORAGE_TOKEN_FILE (bearer token file), AZURE_STORAGE_TOKEN (bearer token);
// otherwise anonymous. InvalidArgument when a connection string names another account.
Result<AzureCredentials> AzureCredentialsFromEnv(std::string_view account, const EnvLookup& env);

// One Blob REST request before authorization.
struct AzureRequest {
  std::string method = "GET";
  std::string path;  // percent-encoded, starting with '/', without the endpoint's own path
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. x-ms-range, If-Match
  std::string body;
  // The length of a body the caller streams instead (HttpRequest::body_source); signed as the
  // Content-Length when `body` is empty.
  uint64_t body_length = 0;
};

// Returns the Shared Key string to sign for a request whose full URL path (endpoint path + path)
// is `url_path` and whose body has `content_length` bytes (version 2015-02-21 and later).
std::string SharedKeyStringToSign(const AzureRequest& req, std::string_view account,
                                  std::string_view url_path, uint64_t content_length);

// Returns the RFC 1123 date ("Sun, 11 Oct 2009 21:49:13 GMT") for x-ms-date.
std::string HttpDate(std::chrono::system_clock::time_point t);

// Builds the HTTP request for `req` against `endpoint` (scheme://host[:port][/path]): adds
// x-ms-date, x-ms-version and the authorization that `creds` calls for.
Result<HttpRequest> BuildAzureHttpRequest(const AzureCredentials& creds, std::string_view endpoint,
                                          AzureRequest req,
                                          std::chrono::system_clock::time_point now);

}  // namespace unicache

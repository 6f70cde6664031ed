// The Azure Blob dialect of ObjectStoreOrigin: an Azure Blob Storage container (or a prefix in
// it) as an origin, over the Blob REST API. Works against Azure and Azurite.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "origin/azure_auth.h"
#include "origin/object_store_origin.h"
#include "origin/origin.h"

namespace unicache {

// The parts of azure://ACCOUNT/CONTAINER[/PREFIX][?endpoint=URL].
struct AzureBlobUri {
  std::string account;
  std::string container;
  std::string root;      // "" or a prefix ending in '/': object paths are relative to it
  std::string endpoint;  // "" unless given in the URI
};

// Parses an azure:// URI. InvalidArgument names the problem (never echoing query values).
Result<AzureBlobUri> ParseAzureBlobUri(std::string_view uri);

// Parses a List Blobs response body. Names are returned as the service sent them (full blob
// names); next_token is NextMarker.
Result<ListPage> ParseBlobListXml(std::string_view xml);

// Opens the container named by `uri` with credentials from `env` (see AzureCredentialsFromEnv).
// Does no network I/O; the first request reports a missing container or bad credentials.
Result<std::unique_ptr<Origin>> OpenAzureBlobOrigin(std::string_view uri, const EnvLookup& env,
                                                    const ObjectStoreOptions& options = {});

}  // namespace unicache

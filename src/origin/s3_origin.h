// The S3 dialect of ObjectStoreOrigin: an S3 bucket (or a prefix in it) as an origin, over the
// S3 REST API with SigV4. Works against AWS and S3-compatible servers (path-style or
// virtual-hosted style).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "origin/azure_auth.h"  // EnvLookup
#include "origin/object_store_origin.h"
#include "origin/origin.h"
#include "origin/sigv4.h"

namespace unicache {

// The parts of s3://BUCKET[/PREFIX][?endpoint=URL&region=R&style=path|virtual].
struct S3Uri {
  std::string bucket;
  std::string root;         // "" or a prefix ending in '/'
  std::string endpoint;     // "" for AWS's regional endpoint
  std::string region;       // "" when not given
  bool path_style = false;  // defaults to true when an endpoint is given
};

// Parses an s3:// URI. InvalidArgument names the problem (never echoing query values).
Result<S3Uri> ParseS3Uri(std::string_view uri);

// Parses a ListObjectsV2 response body. Keys are full object keys; next_token is
// NextContinuationToken (empty unless IsTruncated).
Result<ListPage> ParseListObjectsV2Xml(std::string_view xml);

// Opens the bucket named by `uri`. Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// optional AWS_SESSION_TOKEN from `env`; anonymous when unset. Region: the URI, else AWS_REGION,
// else AWS_DEFAULT_REGION, else us-east-1. Does no network I/O.
Result<std::unique_ptr<Origin>> OpenS3Origin(std::string_view uri, const EnvLookup& env,
                                             const ObjectStoreOptions& options = {});

}  // namespace unicache

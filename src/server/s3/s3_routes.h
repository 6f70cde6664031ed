// S3Routes: the S3-compatible front-end (`unicache serve --s3-listen`). Buckets are the node's
// origins; requests go through the same ObjectService (cache, cluster, single-flight) as
// /v1/objects. Path-style (http://HOST/BUCKET/KEY) and, with a domain, virtual-hosted style
// (http://BUCKET.DOMAIN/KEY) addressing; SigV4 auth (S3Auth); S3 XML answers and errors.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "server/http/http_server.h"
#include "server/objects/object_routes.h"
#include "server/objects/object_service.h"
#include "server/s3/s3_auth.h"
#include "server/s3/s3_multipart.h"

namespace unicache {

struct S3RoutesOptions {
  S3AuthOptions auth;
  std::string domain;                // virtual-hosted style under it; "" = path style only
  std::string region = "us-east-1";  // GetBucketLocation's answer
};

// Thread-safe; borrows the service and object routes, which must outlive it.
class S3Routes {
 public:
  // `metrics` (borrowed) gets unicache_s3_upload_bodies_total{payload}.
  S3Routes(S3RoutesOptions options, ObjectService* service, ObjectRoutes* objects,
           MetricsRegistry* metrics);

  boost::asio::awaitable<void> Handle(const Request& req, RequestBody& body,
                                      ResponseWriter& writer);

 private:
  // One request being served.
  struct Call {
    const Request& req;
    RequestBody& body;
    ResponseWriter& writer;
    std::string request_id;
    std::string bucket;
    std::string key;
    std::map<std::string, std::string> query;  // decoded; '+' is a plus
    S3Caller caller;

    bool Has(const std::string& name) const { return query.count(name) > 0; }
    std::string Param(const std::string& name) const;
    std::string Resource() const { return "/" + bucket + (key.empty() ? "" : "/" + key); }
    std::optional<std::string> Header(std::string_view name) const;
  };
  boost::asio::awaitable<void> SendError(Call& call, const S3Error& error);
  // The same, built here: coroutines pass no braced lists across a co_await (a g++ 12 bug,
  // docs/ARCHITECTURE.md).
  boost::asio::awaitable<void> SendError(Call& call, int status, std::string code,
                                         std::string message);
  boost::asio::awaitable<void> SendXml(Call& call, int status, std::string xml,
                                       const HttpHeaders& headers = {});
  // Sends the error of a failed call of the shared path (`error` as its HTTP status says).
  boost::asio::awaitable<void> SendStatus(Call& call, const Status& error);

  // Serves a request on a bucket (its key empty) / on an object, the caller allowed on it.
  boost::asio::awaitable<void> BucketRequest(Call& call);
  boost::asio::awaitable<void> ObjectRequest(Call& call);
  // A key ending in '/': an empty PUT (a directory marker, as Hadoop's s3a makes) is taken and
  // not stored, a DELETE of one is a no-op, reads answer NoSuchKey.
  boost::asio::awaitable<void> DirectoryMarker(Call& call);
  boost::asio::awaitable<void> ListBuckets(Call& call);
  boost::asio::awaitable<void> ListObjects(Call& call, bool v2);
  boost::asio::awaitable<void> GetObject(Call& call);
  boost::asio::awaitable<void> PutObject(Call& call);
  boost::asio::awaitable<void> CopyObject(Call& call, const std::string& copy_source);
  boost::asio::awaitable<void> DeleteObject(Call& call);
  boost::asio::awaitable<void> DeleteObjects(Call& call);
  boost::asio::awaitable<void> CreateUpload(Call& call);
  boost::asio::awaitable<void> UploadPart(Call& call);
  boost::asio::awaitable<void> CompleteUpload(Call& call);
  boost::asio::awaitable<void> AbortUpload(Call& call);
  boost::asio::awaitable<void> ListParts(Call& call);
  boost::asio::awaitable<void> ListUploads(Call& call);

  // True when `id` is an upload of the call's key; otherwise sends NoSuchUpload.
  boost::asio::awaitable<bool> UploadExists(Call& call, const std::string& id);
  // Streams an upload's body (checked and decoded, S3Body) into origin object `path`; sends
  // the error and returns nullopt when that fails.
  boost::asio::awaitable<std::optional<ObjectInfo>> WriteBody(Call& call, const std::string& path);
  // Checks a small buffered body (POST) against x-amz-content-sha256 and Content-MD5.
  std::optional<S3Error> CheckSmallBody(const Call& call) const;

  const S3RoutesOptions options_;
  const S3Auth auth_;
  ObjectService* const service_;
  ObjectRoutes* const objects_;
  MultipartUploads uploads_;
  const int64_t started_ms_;   // the buckets' CreationDate
  Counter* upload_bodies_[4];  // by S3Payload
};

}  // namespace unicache

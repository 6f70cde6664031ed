#include "server/s3/s3_routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <random>

#include "common/crypto.h"
#include "common/http_answer.h"
#include "common/http_date.h"
#include "common/object_path.h"
#include "common/text.h"
#include "origin/xml_extract.h"
#include "server/objects/byte_range.h"
#include "server/objects/conditional.h"
#include "server/objects/object_source.h"
#include "server/s3/s3_body.h"
#include "server/s3/s3_xml.h"

namespace unicache {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

constexpr size_t kMaxListKeys = 1000;    // S3's page size limit
constexpr size_t kMaxDeleteKeys = 1000;  // DeleteObjects' limit
// A v1 listing's NextMarker when the origin pages with a token that is not a key.
constexpr std::string_view kTokenMark = "unicache-token:";
// The ETag S3 gives an empty object (the MD5 of nothing): a directory marker's.
constexpr std::string_view kEmptyMd5Etag = "\"d41d8cd98f00b204e9800998ecf8427e\"";

std::string RequestId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(rng()));
  return buf;
}

// Sub-resources of buckets and objects that are not built: answered NotImplemented, never
// mistaken for a listing or a read.
bool UnbuiltSubresource(const std::map<std::string, std::string>& query, bool bucket) {
  static const char* const kObject[] = {"acl",       "tagging",    "torrent", "legal-hold",
                                        "retention", "attributes", "restore", "select"};
  static const char* const kBucket[] = {"acl",
                                        "policy",
                                        "cors",
                                        "lifecycle",
                                        "tagging",
                                        "encryption",
                                        "website",
                                        "logging",
                                        "notification",
                                        "replication",
                                        "object-lock",
                                        "ownershipControls",
                                        "publicAccessBlock",
                                        "requestPayment",
                                        "accelerate",
                                        "inventory",
                                        "metrics",
                                        "analytics",
                                        "intelligent-tiering",
                                        "versions",
                                        "policyStatus"};
  for (const char* name :
       bucket ? std::span<const char* const>(kBucket) : std::span<const char* const>(kObject)) {
    if (query.count(name) > 0) return true;
  }
  return false;
}

}  // namespace

std::string S3Routes::Call::Param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

std::optional<std::string> S3Routes::Call::Header(std::string_view name) const {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string(it->value());
}

S3Routes::S3Routes(S3RoutesOptions options, ObjectService* service, ObjectRoutes* objects,
                   MetricsRegistry* metrics)
    : options_(std::move(options)),
      auth_(options_.auth),
      service_(service),
      objects_(objects),
      uploads_(service),
      started_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()) {
  const char* const kPayloads[] = {"sha256", "unsigned", "aws-chunked-signed",
                                   "aws-chunked-unsigned"};
  for (int p = 0; p < 4; ++p) {
    upload_bodies_[p] = &metrics->GetCounter(
        "unicache_s3_upload_bodies_total", {{"payload", kPayloads[p]}},
        "Upload bodies the S3 endpoint took, by how they were signed and framed.");
  }
}

asio::awaitable<void> S3Routes::SendXml(Call& call, int status, std::string xml,
                                        const HttpHeaders& headers) {
  HttpHeaders h = headers;
  h.emplace_back("x-amz-request-id", call.request_id);
  co_await call.writer.Send(status, std::move(xml), "application/xml", h);
}

asio::awaitable<void> S3Routes::SendError(Call& call, const S3Error& error) {
  if (error.status >= 500) {
    spdlog::warn("s3 {} {}: {} {}", std::string(call.req.method_string()), call.Resource(),
                 error.code, error.message);
  }
  co_await SendXml(call, error.status, S3ErrorXml(error, call.Resource(), call.request_id));
}

asio::awaitable<void> S3Routes::SendError(Call& call, int status, std::string code,
                                          std::string message) {
  const S3Error error{status, std::move(code), std::move(message)};
  co_await SendError(call, error);
}

asio::awaitable<void> S3Routes::SendStatus(Call& call, const Status& error) {
  co_await SendError(call, S3ErrorFor(error));
}

asio::awaitable<void> S3Routes::Handle(const Request& req, RequestBody& body,
                                       ResponseWriter& writer) {
  writer.set_frontend("s3");
  Call call{req, body, writer, RequestId()};
  const std::string_view target = req.target();
  const size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  const std::string_view raw_query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  Result<std::string> path = PercentDecode(raw_path);
  Result<std::vector<std::pair<std::string, std::string>>> query = SplitQuery(raw_query);
  if (!path.ok() || !query.ok() || !raw_path.starts_with("/")) {
    co_return co_await SendError(call, 400, "InvalidURI", "Couldn't parse the specified URI.");
  }
  for (auto& [k, v] : *query) call.query[k] = v;

  // The bucket: the host's first label under --s3-domain, else the path's first segment.
  std::string host(call.Header("host").value_or(""));
  if (size_t colon = host.rfind(':');
      colon != std::string::npos && host.find(']') == std::string::npos) {
    host.resize(colon);
  }
  host = AsciiLower(host);
  const std::string suffix = "." + AsciiLower(options_.domain);
  if (!options_.domain.empty() && host.size() > suffix.size() && host.ends_with(suffix)) {
    call.bucket = host.substr(0, host.size() - suffix.size());
    call.key = path->substr(1);
  } else {
    std::string_view rest = std::string_view(*path).substr(1);
    const size_t slash = rest.find('/');
    call.bucket = std::string(rest.substr(0, slash));
    if (slash != std::string_view::npos) call.key = std::string(rest.substr(slash + 1));
  }

  if (std::optional<S3Error> e =
          auth_.Verify(req, raw_path, raw_query, std::chrono::system_clock::now(), &call.caller)) {
    co_return co_await SendError(call, *e);
  }
  const http::verb method = req.method();
  if (call.bucket.empty()) {
    if (method == http::verb::get || method == http::verb::head) {
      co_return co_await ListBuckets(call);
    }
    co_return co_await SendError(call, 405, "MethodNotAllowed",
                                 "the service endpoint takes GET (ListBuckets) only");
  }
  if (call.caller.key != nullptr && !call.caller.key->Allows(call.bucket)) {
    co_return co_await SendError(call, 403, "AccessDenied",
                                 "access key '" + call.caller.key->access_key +
                                     "' may not use bucket '" + call.bucket + "'");
  }
  if (!service_->HasOrigin(call.bucket)) {
    if (method == http::verb::put && call.key.empty()) {
      co_return co_await SendError(
          call, 501, "NotImplemented",
          "buckets are the node's origins: add one with --origin " + call.bucket + "=URI");
    }
    co_return co_await SendError(call, 404, "NoSuchBucket", "The specified bucket does not exist");
  }
  if (call.key.empty()) co_return co_await BucketRequest(call);
  co_await ObjectRequest(call);
}

asio::awaitable<void> S3Routes::BucketRequest(Call& call) {
  const http::verb method = call.req.method();
  if (UnbuiltSubresource(call.query, true)) {
    co_return co_await SendError(call, 501, "NotImplemented",
                                 "this bucket sub-resource is not supported");
  }
  if (method == http::verb::head) {
    co_return co_await SendXml(call, 200, "", Header("x-amz-bucket-region", options_.region));
  }
  if (method == http::verb::get) {
    if (call.Has("location")) {
      XmlWriter x("LocationConstraint");
      if (options_.region != "us-east-1") x.Text(options_.region);  // us-east-1 is empty
      co_return co_await SendXml(call, 200, x.Finish());
    }
    if (call.Has("versioning")) {
      co_return co_await SendXml(call, 200, XmlWriter("VersioningConfiguration").Finish());
    }
    if (call.Has("uploads")) co_return co_await ListUploads(call);
    co_return co_await ListObjects(call, call.Param("list-type") == "2");
  }
  if (method == http::verb::put) {
    // CreateBucket of a bucket that exists and is the caller's: S3 answers 200 (us-east-1).
    co_return co_await SendXml(call, 200, "", Header("Location", "/" + call.bucket));
  }
  if (method == http::verb::post && call.Has("delete")) co_return co_await DeleteObjects(call);
  co_await SendError(call, 501, "NotImplemented", "this bucket operation is not supported");
}

asio::awaitable<void> S3Routes::ObjectRequest(Call& call) {
  const http::verb method = call.req.method();
  if (call.key.ends_with("/")) co_return co_await DirectoryMarker(call);
  if (Status st = ValidateObjectPath(call.key); !st.ok()) {
    co_return co_await SendError(
        call, 400, "InvalidArgument",
        "unicache keys are paths (no empty, '.' or '..' segments, no trailing '/'): " +
            st.message());
  }
  if (call.Has("tagging") && method == http::verb::get) {
    // Objects carry no tags here; the AWS CLI asks before it copies an object in parts.
    Result<ObjectInfo> info = co_await service_->Stat(call.bucket, call.key);
    if (!info.ok()) co_return co_await SendStatus(call, info.status());
    XmlWriter x("Tagging");
    x.Open("TagSet");
    x.Close("TagSet");
    co_return co_await SendXml(call, 200, x.Finish());
  }
  if (UnbuiltSubresource(call.query, false)) {
    co_return co_await SendError(call, 501, "NotImplemented",
                                 "this object sub-resource is not supported");
  }
  std::optional<std::string> copy_source = call.Header("x-amz-copy-source");
  switch (method) {
    case http::verb::get:
    case http::verb::head:
      if (call.Has("uploadId") && method == http::verb::get) co_return co_await ListParts(call);
      co_return co_await GetObject(call);
    case http::verb::put:
      if (call.Has("uploadId") || call.Has("partNumber")) co_return co_await UploadPart(call);
      if (copy_source) co_return co_await CopyObject(call, *copy_source);
      co_return co_await PutObject(call);
    case http::verb::post:
      if (call.Has("uploads")) co_return co_await CreateUpload(call);
      if (call.Has("uploadId")) co_return co_await CompleteUpload(call);
      break;
    case http::verb::delete_:
      if (call.Has("uploadId")) co_return co_await AbortUpload(call);
      co_return co_await DeleteObject(call);
    default:
      break;
  }
  co_await SendError(call, 405, "MethodNotAllowed",
                     "the specified method is not allowed against this resource");
}

asio::awaitable<void> S3Routes::DirectoryMarker(Call& call) {
  const http::verb method = call.req.method();
  const std::string prefix = call.key.substr(0, call.key.size() - 1);
  if (Status st = ValidateObjectPath(prefix); !st.ok()) {
    co_return co_await SendError(call, 400, "InvalidArgument", st.message());
  }
  if (method == http::verb::put && !call.Has("uploadId") &&
      !call.Header("x-amz-copy-source").has_value()) {
    S3Body body(call.req, call.body);
    if (std::optional<S3Error> e = body.Init(call.caller)) co_return co_await SendError(call, *e);
    if (body.size() == 0) {
      // Directories are implicit in origins: a prefix exists while a key under it does.
      co_return co_await SendXml(call, 200, "", Header("ETag", std::string(kEmptyMd5Etag)));
    }
  }
  if (method == http::verb::delete_) co_return co_await SendXml(call, 204, "");
  if (method == http::verb::get || method == http::verb::head) {
    co_return co_await SendError(call, 404, "NoSuchKey",
                                 "directory markers are not stored: a prefix exists while a key "
                                 "under it does");
  }
  co_await SendError(call, 400, "InvalidArgument",
                     "a key ending in '/' can only be an empty directory marker");
}

asio::awaitable<void> S3Routes::ListBuckets(Call& call) {
  XmlWriter x("ListAllMyBucketsResult");
  x.Open("Owner");
  x.Add("ID", call.caller.key != nullptr ? call.caller.key->access_key : "anonymous");
  x.Add("DisplayName", call.caller.key != nullptr ? call.caller.key->access_key : "anonymous");
  x.Close("Owner");
  x.Open("Buckets");
  for (const std::string& name : service_->OriginNames()) {
    if (call.caller.key != nullptr && !call.caller.key->Allows(name)) continue;
    x.Open("Bucket");
    x.Add("Name", name);
    x.Add("CreationDate", Iso8601(started_ms_));
    x.Close("Bucket");
  }
  x.Close("Buckets");
  co_await SendXml(call, 200, x.Finish());
}

asio::awaitable<void> S3Routes::ListObjects(Call& call, bool v2) {
  const std::string prefix = call.Param("prefix");
  const std::string delimiter = call.Param("delimiter");
  if (!delimiter.empty() && delimiter != "/") {
    co_return co_await SendError(call, 501, "NotImplemented",
                                 "only the delimiter '/' is supported");
  }
  if (Status st = ValidatePrefix(prefix); !st.ok()) {
    co_return co_await SendError(call, 400, "InvalidArgument", st.message());
  }
  const std::string encoding = call.Param("encoding-type");
  if (!encoding.empty() && encoding != "url") {
    co_return co_await SendError(call, 400, "InvalidArgument", "encoding-type must be 'url'");
  }
  auto enc = [&](const std::string& s) { return encoding.empty() ? s : PercentEncode(s, true); };
  size_t max_keys = kMaxListKeys;
  if (call.Has("max-keys")) {
    std::optional<size_t> n = ParseDecimal<size_t>(call.Param("max-keys"));
    if (!n) co_return co_await SendError(call, 400, "InvalidArgument", "max-keys must be a number");
    max_keys = std::min(*n, kMaxListKeys);
  }

  ListOptions options;
  options.prefix = prefix;
  options.delimiter = delimiter;
  options.max_keys = std::max<size_t>(1, max_keys);
  std::string start_after;  // keys up to this one are skipped
  const std::string given_token = call.Param(v2 ? "continuation-token" : "marker");
  if (v2 && call.Has("continuation-token")) {
    Result<std::string> token = Base64Decode(given_token);
    if (!token.ok() || token->empty()) {
      co_return co_await SendError(call, 400, "InvalidArgument",
                                   "The continuation token provided is incorrect");
    }
    options.token = *token;
  } else if (!v2 && given_token.starts_with(kTokenMark)) {
    Result<std::string> token = Base64Decode(given_token.substr(kTokenMark.size()));
    if (!token.ok()) co_return co_await SendError(call, 400, "InvalidArgument", "bad marker");
    options.token = *token;
  } else {
    start_after = v2 ? call.Param("start-after") : given_token;
  }

  ListPage page;
  if (max_keys > 0) {
    // Skip the staging area and keys up to start-after; a page left empty goes on to the next.
    for (int pages = 0; pages < 1000; ++pages) {
      Result<ListPage> got = co_await service_->List(call.bucket, options);
      if (!got.ok()) co_return co_await SendStatus(call, got.status());
      std::erase_if(got->objects, [&](const ObjectInfo& o) {
        return MultipartUploads::IsStaging(o.path) ||
               (!start_after.empty() && o.path <= start_after);
      });
      std::erase_if(got->prefixes, [&](const std::string& p) {
        return MultipartUploads::IsStaging(p) ||
               (!start_after.empty() && p <= start_after && !start_after.starts_with(p));
      });
      page = std::move(got).value();
      options.token = page.next_token;
      if (!page.objects.empty() || !page.prefixes.empty() || page.next_token.empty()) break;
    }
  }
  const bool truncated = !page.next_token.empty();

  XmlWriter x("ListBucketResult");
  x.Add("Name", call.bucket);
  x.Add("Prefix", enc(prefix));
  if (v2) {
    if (call.Has("start-after")) x.Add("StartAfter", enc(call.Param("start-after")));
    if (call.Has("continuation-token")) x.Add("ContinuationToken", given_token);
    x.Add("KeyCount", std::to_string(page.objects.size() + page.prefixes.size()));
  } else {
    x.Add("Marker", given_token);
  }
  x.Add("MaxKeys", std::to_string(max_keys));
  if (!delimiter.empty()) x.Add("Delimiter", enc(delimiter));
  if (!encoding.empty()) x.Add("EncodingType", encoding);
  x.Add("IsTruncated", truncated ? "true" : "false");
  if (truncated) {
    const std::string token = Base64Encode(page.next_token);
    if (v2) {
      x.Add("NextContinuationToken", token);
    } else {
      x.Add("NextMarker", std::string(kTokenMark) + token);
    }
  }
  const bool owner = !v2 || call.Param("fetch-owner") == "true";
  for (const ObjectInfo& o : page.objects) {
    x.Open("Contents");
    x.Add("Key", enc(o.path));
    x.Add("LastModified", Iso8601(o.mtime_ms));
    x.Add("ETag", QuoteEtag(o.version));
    x.Add("Size", std::to_string(o.size));
    x.Add("StorageClass", "STANDARD");
    if (owner) {
      x.Open("Owner");
      x.Add("ID", call.bucket);
      x.Add("DisplayName", call.bucket);
      x.Close("Owner");
    }
    x.Close("Contents");
  }
  for (const std::string& p : page.prefixes) {
    x.Open("CommonPrefixes");
    x.Add("Prefix", enc(p));
    x.Close("CommonPrefixes");
  }
  co_await SendXml(call, 200, x.Finish());
}

asio::awaitable<void> S3Routes::GetObject(Call& call) {
  if (call.Has("partNumber")) {
    co_return co_await SendError(call, 501, "NotImplemented",
                                 "GetObject by partNumber is not supported: use Range");
  }
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"response-content-type", "Content-Type"},
      {"response-content-language", "Content-Language"},
      {"response-expires", "Expires"},
      {"response-cache-control", "Cache-Control"},
      {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"},
  };
  HttpHeaders overrides;
  for (const auto& [param, header] : kOverrides) {
    if (call.Has(param)) overrides.emplace_back(header, call.Param(param));
  }
  overrides.emplace_back("x-amz-request-id", call.request_id);
  co_await objects_->GetObject(call.req, call.writer, call.bucket, call.key, overrides);
}

std::optional<S3Error> S3Routes::CheckSmallBody(const Call& call) const {
  const std::string& body = call.req.body();
  if (call.caller.payload == S3Payload::kStreamingSigned ||
      call.caller.payload == S3Payload::kStreamingUnsigned) {
    return S3Error{501, "NotImplemented", "aws-chunked bodies are taken by uploads only"};
  }
  if (call.caller.payload == S3Payload::kSha256 && Sha256Hex(body) != call.caller.payload_sha256) {
    return S3Error{400, "XAmzContentSHA256Mismatch",
                   "The provided 'x-amz-content-sha256' header does not match what was computed."};
  }
  if (std::optional<std::string> md5 = call.Header("content-md5")) {
    Digest d(Digest::Kind::kMd5);
    d.Update(body);
    if (Base64Encode(d.Finish()) != TrimSpace(*md5)) {
      return S3Error{400, "BadDigest",
                     "The Content-MD5 you specified did not match what we received."};
    }
  }
  return std::nullopt;
}

asio::awaitable<std::optional<ObjectInfo>> S3Routes::WriteBody(Call& call,
                                                               const std::string& path) {
  S3Body body(call.req, call.body);
  if (std::optional<S3Error> e = body.Init(call.caller)) {
    co_await SendError(call, *e);
    co_return std::nullopt;
  }
  upload_bodies_[static_cast<int>(call.caller.payload)]->Inc();
  const BodyRead read = [&body](std::span<std::byte> dst) { return body.Read(dst); };
  Result<ObjectInfo> info = co_await service_->Write(call.bucket, path, body.size(), read);
  if (!info.ok()) {
    if (body.failure()) {
      co_await SendError(call, *body.failure());
    } else {
      co_await SendStatus(call, info.status());
    }
    co_return std::nullopt;
  }
  co_return std::move(info).value();
}

asio::awaitable<void> S3Routes::PutObject(Call& call) {
  std::optional<ObjectInfo> info = co_await WriteBody(call, call.key);
  if (info) co_await SendXml(call, 200, "", Header("ETag", QuoteEtag(info->version)));
}

asio::awaitable<void> S3Routes::CopyObject(Call& call, const std::string& copy_source) {
  // x-amz-copy-source: [/]BUCKET/KEY, URL-encoded, optionally ?versionId=...
  Result<std::string> source = PercentDecode(copy_source);
  if (!source.ok())
    co_return co_await SendError(call, 400, "InvalidArgument", "bad x-amz-copy-source");
  std::string_view src = *source;
  if (src.starts_with("/")) src.remove_prefix(1);
  if (src.find("?versionId=") != std::string_view::npos) {
    co_return co_await SendError(call, 501, "NotImplemented", "object versions are not supported");
  }
  const size_t slash = src.find('/');
  if (slash == std::string_view::npos) {
    co_return co_await SendError(call, 400, "InvalidArgument",
                                 "x-amz-copy-source must be BUCKET/KEY");
  }
  const std::string src_bucket(src.substr(0, slash));
  const std::string src_key(src.substr(slash + 1));
  if (call.caller.key != nullptr && !call.caller.key->Allows(src_bucket)) {
    co_return co_await SendError(call, 403, "AccessDenied",
                                 "access key '" + call.caller.key->access_key +
                                     "' may not read bucket '" + src_bucket + "'");
  }
  if (!service_->HasOrigin(src_bucket)) {
    co_return co_await SendError(call, 404, "NoSuchBucket", "The source bucket does not exist");
  }
  if (Status st = ValidateObjectPath(src_key); !st.ok()) {
    co_return co_await SendError(call, 400, "InvalidArgument", st.message());
  }
  Result<ObjectInfo> info = co_await service_->Stat(src_bucket, src_key, true);
  if (!info.ok()) co_return co_await SendStatus(call, info.status());

  std::optional<std::string> if_match = call.Header("x-amz-copy-source-if-match");
  std::optional<std::string> if_none_match = call.Header("x-amz-copy-source-if-none-match");
  std::optional<std::string> if_modified = call.Header("x-amz-copy-source-if-modified-since");
  std::optional<std::string> if_unmodified = call.Header("x-amz-copy-source-if-unmodified-since");
  Conditions conditions;
  if (if_match) conditions.if_match = *if_match;
  if (if_none_match) conditions.if_none_match = *if_none_match;
  if (if_modified) conditions.if_modified_since = *if_modified;
  if (if_unmodified) conditions.if_unmodified_since = *if_unmodified;
  if (EvaluatePreconditions(conditions, *info) != Precondition::kPass) {
    co_return co_await SendError(call, 412, "PreconditionFailed",
                                 "At least one of the pre-conditions you specified did "
                                 "not hold");
  }
  ObjectSegment segment{src_bucket, *info, 0, info->size};
  const bool part = call.Has("uploadId");
  if (std::optional<std::string> range = call.Header("x-amz-copy-source-range"); range && part) {
    Result<std::vector<ByteRange>> ranges = ResolveRanges(*range, info->size);
    if (!ranges.ok() || ranges->size() != 1) {
      co_return co_await SendError(call, 416, "InvalidRange",
                                   "x-amz-copy-source-range must be one satisfiable "
                                   "bytes=FIRST-LAST range");
    }
    segment.first = (*ranges)[0].first;
    segment.length = (*ranges)[0].length();
  }
  std::vector<ObjectSegment> segments;
  segments.push_back(segment);
  ObjectSource reader(service_, std::move(segments));
  const BodyRead read = [&reader](std::span<std::byte> dst) { return reader.Read(dst); };
  const std::string dest =
      part ? MultipartUploads::PartPath(call.Param("uploadId"),
                                        ParseDecimal<int>(call.Param("partNumber")).value_or(0))
           : call.key;
  Result<ObjectInfo> written = co_await service_->Write(call.bucket, dest, reader.size(), read);
  if (!written.ok()) co_return co_await SendStatus(call, written.status());
  XmlWriter x(part ? "CopyPartResult" : "CopyObjectResult");
  x.Add("LastModified", Iso8601(written->mtime_ms));
  x.Add("ETag", QuoteEtag(written->version));
  co_await SendXml(call, 200, x.Finish());
}

asio::awaitable<void> S3Routes::DeleteObject(Call& call) {
  Status st = co_await service_->Delete(call.bucket, call.key);
  if (!st.ok()) co_return co_await SendStatus(call, st);
  co_await SendXml(call, 204, "");
}

asio::awaitable<void> S3Routes::DeleteObjects(Call& call) {
  if (std::optional<S3Error> e = CheckSmallBody(call)) co_return co_await SendError(call, *e);
  const std::string& body = call.req.body();
  Result<std::vector<XmlElement>> objects = XmlChildren(body, "Object");
  Result<std::string> quiet = XmlText(body, "Quiet");
  if (!objects.ok() || !quiet.ok() || objects->empty() || objects->size() > kMaxDeleteKeys) {
    co_return co_await SendError(
        call, 400, "MalformedXML",
        "the body must be a <Delete> of 1 to 1000 <Object><Key>...</Key></Object>");
  }
  XmlWriter x("DeleteResult");
  for (const XmlElement& object : *objects) {
    Result<std::string> key = XmlText(object.inner, "Key");
    if (!key.ok()) co_return co_await SendError(call, 400, "MalformedXML", "a <Key> is malformed");
    Status st = ValidateObjectPath(*key);
    if (st.ok()) st = co_await service_->Delete(call.bucket, *key);
    if (st.ok()) {
      if (*quiet != "true") {
        x.Open("Deleted");
        x.Add("Key", *key);
        x.Close("Deleted");
      }
      continue;
    }
    const S3Error e = S3ErrorFor(st);
    x.Open("Error");
    x.Add("Key", *key);
    x.Add("Code", e.code);
    x.Add("Message", e.message);
    x.Close("Error");
  }
  co_await SendXml(call, 200, x.Finish());
}

}  // namespace unicache

// S3Routes' multipart uploads: the S3 operations around MultipartUploads, which stages them
// in the bucket's origin.
#include <spdlog/spdlog.h>

#include <map>

#include "common/http_answer.h"
#include "common/text.h"
#include "origin/xml_extract.h"
#include "server/objects/object_source.h"
#include "server/s3/s3_routes.h"
#include "server/s3/s3_xml.h"

namespace unicache {

namespace asio = boost::asio;

namespace {

constexpr uint64_t kMinPartBytes = 5ull << 20;  // every part but the last
constexpr size_t kMaxUploadsScanned = 10000;    // uploads under way ListMultipartUploads reads

std::string StripQuotes(std::string_view etag) {
  etag = TrimSpace(etag);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

// Checks the parts a CompleteMultipartUpload body lists against the parts uploaded, in S3's
// order (well-formed, ascending, then each part's ETag and size), and returns the segments to
// join; or the error to answer.
std::optional<S3Error> PartsToJoin(std::string_view body,
                                   const std::vector<MultipartUploads::Part>& parts,
                                   const std::string& bucket, std::vector<ObjectSegment>* out) {
  Result<std::vector<XmlElement>> listed = XmlChildren(body, "Part");
  if (!listed.ok() || listed->empty()) {
    return S3Error{400, "MalformedXML",
                   "the body must be a <CompleteMultipartUpload> listing one <Part> or more"};
  }
  std::vector<std::pair<int, std::string>> wanted;  // number, ETag
  for (const XmlElement& part : *listed) {
    Result<std::string> number_text = XmlText(part.inner, "PartNumber");
    Result<std::string> etag = XmlText(part.inner, "ETag");
    std::optional<int> number =
        number_text.ok() ? ParseDecimal<int>(TrimSpace(*number_text)) : std::nullopt;
    if (!number || !etag.ok()) return S3Error{400, "MalformedXML", "a <Part> is malformed"};
    if (!wanted.empty() && *number <= wanted.back().first) {
      return S3Error{400, "InvalidPartOrder", "The list of parts was not in ascending order."};
    }
    wanted.emplace_back(*number, StripQuotes(*etag));
  }
  std::map<int, const ObjectInfo*> uploaded;
  for (const MultipartUploads::Part& p : parts) uploaded[p.number] = &p.info;
  for (size_t i = 0; i < wanted.size(); ++i) {
    const auto& [number, etag] = wanted[i];
    auto it = uploaded.find(number);
    if (it == uploaded.end() || etag != it->second->version) {
      return S3Error{
          400, "InvalidPart",
          "part " + std::to_string(number) + " was not uploaded, or its ETag is not the one given"};
    }
    if (i + 1 < wanted.size() && it->second->size < kMinPartBytes) {
      return S3Error{400, "EntityTooSmall",
                     "part " + std::to_string(number) +
                         " is smaller than 5 MiB, the least for every part but the last"};
    }
    out->push_back(ObjectSegment{bucket, *it->second, 0, it->second->size});
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<void> S3Routes::CreateUpload(Call& call) {
  Result<std::string> id = co_await uploads_.Create(call.bucket, call.key);
  if (!id.ok()) co_return co_await SendStatus(call, id.status());
  XmlWriter x("InitiateMultipartUploadResult");
  x.Add("Bucket", call.bucket);
  x.Add("Key", call.key);
  x.Add("UploadId", *id);
  co_await SendXml(call, 200, x.Finish());
}

asio::awaitable<bool> S3Routes::UploadExists(Call& call, const std::string& id) {
  Result<std::string> key = NotFound("no such upload");
  if (MultipartUploads::ValidId(id)) key = co_await uploads_.KeyOf(call.bucket, id);
  if (key.ok() && *key == call.key) co_return true;
  co_await SendError(call, 404, "NoSuchUpload",
                     "The specified multipart upload does not exist. The upload ID may be "
                     "invalid, or the upload may have been aborted or completed.");
  co_return false;
}

asio::awaitable<void> S3Routes::UploadPart(Call& call) {
  const std::string id = call.Param("uploadId");
  std::optional<int> number = ParseDecimal<int>(call.Param("partNumber"));
  if (!number || *number < 1 || *number > MultipartUploads::kMaxParts) {
    co_return co_await SendError(call, 400, "InvalidArgument",
                                 "partNumber must be an integer in 1..10000");
  }
  if (!co_await UploadExists(call, id)) co_return;
  if (std::optional<std::string> copy_source = call.Header("x-amz-copy-source")) {
    co_return co_await CopyObject(call, *copy_source);
  }
  std::optional<ObjectInfo> info =
      co_await WriteBody(call, MultipartUploads::PartPath(id, *number));
  if (info) co_await SendXml(call, 200, "", Header("ETag", QuoteEtag(info->version)));
}

asio::awaitable<void> S3Routes::CompleteUpload(Call& call) {
  const std::string id = call.Param("uploadId");
  if (!co_await UploadExists(call, id)) co_return;
  if (std::optional<S3Error> e = CheckSmallBody(call)) co_return co_await SendError(call, *e);
  Result<std::vector<MultipartUploads::Part>> parts = co_await uploads_.Parts(call.bucket, id);
  if (!parts.ok()) co_return co_await SendStatus(call, parts.status());
  std::vector<ObjectSegment> segments;
  if (std::optional<S3Error> e = PartsToJoin(call.req.body(), *parts, call.bucket, &segments)) {
    co_return co_await SendError(call, *e);
  }
  ObjectSource reader(service_, std::move(segments));
  const BodyRead read = [&reader](std::span<std::byte> dst) { return reader.Read(dst); };
  Result<ObjectInfo> written = co_await service_->Write(call.bucket, call.key, reader.size(), read);
  if (!written.ok()) co_return co_await SendStatus(call, written.status());
  if (Status st = co_await uploads_.Remove(call.bucket, id); !st.ok()) {
    spdlog::warn("s3: upload {} of {}/{} completed, but removing its parts failed: {}", id,
                 call.bucket, call.key, st.ToString());
  }
  XmlWriter x("CompleteMultipartUploadResult");
  x.Add("Location", call.Resource());
  x.Add("Bucket", call.bucket);
  x.Add("Key", call.key);
  x.Add("ETag", QuoteEtag(written->version));
  co_await SendXml(call, 200, x.Finish());
}

asio::awaitable<void> S3Routes::AbortUpload(Call& call) {
  const std::string id = call.Param("uploadId");
  if (!co_await UploadExists(call, id)) co_return;
  Status st = co_await uploads_.Remove(call.bucket, id);
  if (!st.ok()) co_return co_await SendStatus(call, st);
  co_await SendXml(call, 204, "");
}

asio::awaitable<void> S3Routes::ListParts(Call& call) {
  const std::string id = call.Param("uploadId");
  if (!co_await UploadExists(call, id)) co_return;
  Result<std::vector<MultipartUploads::Part>> parts = co_await uploads_.Parts(call.bucket, id);
  if (!parts.ok()) co_return co_await SendStatus(call, parts.status());
  const int marker = ParseDecimal<int>(call.Param("part-number-marker")).value_or(0);
  const size_t max_parts =
      std::min<size_t>(ParseDecimal<size_t>(call.Param("max-parts")).value_or(1000), 1000);
  XmlWriter x("ListPartsResult");
  x.Add("Bucket", call.bucket);
  x.Add("Key", call.key);
  x.Add("UploadId", id);
  x.Add("PartNumberMarker", std::to_string(marker));
  x.Add("MaxParts", std::to_string(max_parts));
  x.Add("StorageClass", "STANDARD");
  size_t listed = 0;
  int last = marker;
  bool truncated = false;
  for (const MultipartUploads::Part& p : *parts) {
    if (p.number <= marker) continue;
    if (listed == max_parts) {
      truncated = true;
      break;
    }
    x.Open("Part");
    x.Add("PartNumber", std::to_string(p.number));
    x.Add("LastModified", Iso8601(p.info.mtime_ms));
    x.Add("ETag", QuoteEtag(p.info.version));
    x.Add("Size", std::to_string(p.info.size));
    x.Close("Part");
    last = p.number;
    ++listed;
  }
  x.Add("NextPartNumberMarker", std::to_string(last));
  x.Add("IsTruncated", truncated ? "true" : "false");
  co_await SendXml(call, 200, x.Finish());
}

asio::awaitable<void> S3Routes::ListUploads(Call& call) {
  const std::string prefix = call.Param("prefix");
  const size_t max_uploads =
      std::min<size_t>(ParseDecimal<size_t>(call.Param("max-uploads")).value_or(1000), 1000);
  Result<std::vector<MultipartUploads::Upload>> uploads =
      co_await uploads_.Uploads(call.bucket, kMaxUploadsScanned);
  if (!uploads.ok()) co_return co_await SendStatus(call, uploads.status());
  XmlWriter x("ListMultipartUploadsResult");
  x.Add("Bucket", call.bucket);
  x.Add("KeyMarker", "");
  x.Add("UploadIdMarker", "");
  x.Add("Prefix", prefix);
  x.Add("MaxUploads", std::to_string(max_uploads));
  size_t listed = 0;
  bool truncated = false;
  for (const MultipartUploads::Upload& u : *uploads) {
    if (!u.key.starts_with(prefix)) continue;
    if (listed == max_uploads) {
      truncated = true;
      break;
    }
    x.Open("Upload");
    x.Add("Key", u.key);
    x.Add("UploadId", u.id);
    x.Add("StorageClass", "STANDARD");
    x.Add("Initiated", Iso8601(u.initiated_ms));
    x.Close("Upload");
    ++listed;
  }
  x.Add("IsTruncated", truncated ? "true" : "false");
  co_await SendXml(call, 200, x.Finish());
}

}  // namespace unicache

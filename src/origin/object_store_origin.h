// ObjectStoreOrigin: one origin over any HTTP object store. What the stores share (HEAD for
// metadata, ranged GETs pinned to a version, streamed reads that state the metadata, listing
// pages, PUT) is written once here; what differs (addressing and signing, header names, the
// listing format, error codes, what a version is) is a small StoreDialect per service: Azure
// Blob (azure_blob_origin), S3 (s3_origin) and plain HTTP servers (http_origin).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http_client.h"
#include "origin/origin.h"

namespace unicache {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What differs between HTTP object stores. Paths are relative to the origin's root, already
// validated; implementations are immutable after construction (thread-safe).
class StoreDialect {
 public:
  virtual ~StoreDialect() = default;

  // The URI scheme: "azure", "s3", "http".
  virtual std::string_view Scheme() const = 0;
  // Names the object (or prefix) `path` in errors, e.g. "azure://acct/container/dir/f". Never
  // holds a credential.
  virtual std::string Name(std::string_view path) const = 0;
  // The header a ranged read states its range in.
  virtual std::string_view RangeHeader() const { return "Range"; }

  // Builds the request `method` of the object `path` with `headers`, signed. A request with a
  // body (a PUT) names its length, `body_length`: the caller streams the body (body_source),
  // so its signature cannot cover the bytes.
  virtual Result<HttpRequest> ObjectRequest(std::string_view method, std::string_view path,
                                            HeaderList headers, uint64_t body_length) const = 0;
  // Builds the request of one listing page. Unimplemented for a store that cannot list.
  virtual Result<HttpRequest> ListRequest(const ListOptions& options) const = 0;
  // Parses a listing answer's body into a page of paths relative to the root.
  virtual Result<ListPage> ParseList(std::string_view body) const = 0;
  // Returns the headers a PUT of an object sends. Unimplemented for a read-only store.
  virtual Result<HeaderList> WriteHeaders() const = 0;

  // Returns the store's own error code in a failed answer ("BlobNotFound"), or "". By default
  // the <Code> of an XML error body.
  virtual std::string ErrorCode(const HttpResponse& resp) const;
  // Returns the version an answer's head states (by default its ETag, unquoted), "" for none.
  virtual std::string VersionOf(const HttpResponse& head) const;
  // Returns the headers that make a read fail with 412 unless the object still has `version`
  // (by default If-Match).
  virtual HeaderList Precondition(std::string_view version) const;
  // Returns true when a HEAD refused with `status` may be answered by a one-byte GET instead
  // (a URL signed for GET only). False by default.
  virtual bool StatByGet(int /*status*/) const { return false; }
};

struct ObjectStoreOptions {
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds connect_timeout{5000};
};

// Returns the origin over `dialect`. Does no network I/O.
std::unique_ptr<Origin> NewObjectStoreOrigin(std::unique_ptr<StoreDialect> dialect,
                                             ObjectStoreOptions options = {});

}  // namespace unicache

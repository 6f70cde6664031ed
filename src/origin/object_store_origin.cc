#include "origin/object_store_origin.h"

#include "origin/http_status.h"
#include "origin/http_util.h"
#include "origin/xml_extract.h"

namespace unicache {

std::string StoreDialect::ErrorCode(const HttpResponse& resp) const {
  if (resp.body.empty()) return "";
  Result<std::string> code = XmlText(resp.body, "Code");
  return code.ok() ? *code : "";
}

std::string StoreDialect::VersionOf(const HttpResponse& head) const { return EtagVersion(head); }

HeaderList StoreDialect::Precondition(std::string_view version) const {
  return {{"If-Match", QuoteEtag(version)}};
}

namespace {

class ObjectStoreOrigin final : public Origin {
 public:
  ObjectStoreOrigin(std::unique_ptr<StoreDialect> dialect, ObjectStoreOptions options)
      : dialect_(std::move(dialect)),
        options_(options),
        version_rule_(
            [d = dialect_.get()](const HttpResponse& head) { return d->VersionOf(head); }) {}

  std::string_view Scheme() const override { return dialect_->Scheme(); }
  void Cancel() override { client_.Cancel(); }

  Result<ObjectInfo> Stat(std::string_view path) override {
    ASSIGN_OR_RETURN(HttpResponse resp, Send(Object("HEAD", path, {})));
    if (resp.status != 200 && dialect_->StatByGet(resp.status)) {
      // A one-byte read states the size in Content-Range (416 for an empty object).
      ASSIGN_OR_RETURN(resp, Send(Object("GET", path, {{Range(), "bytes=0-0"}})));
      if (resp.status == 416) return StatEmpty(path);
      if (resp.status != 206 && resp.status != 200) return Error(resp, "GET", path);
    } else if (resp.status != 200) {
      return Error(resp, "HEAD", path);
    }
    return InfoFromRead(resp, path, version_rule_);
  }

  Result<size_t> Read(std::string_view path, std::string_view version, uint64_t offset,
                      std::span<std::byte> dst) override {
    if (dst.empty()) return size_t{0};
    HeaderList headers = {{Range(), RangeValue(offset, dst.size())}};
    if (!version.empty()) Append(headers, dialect_->Precondition(version));
    ASSIGN_OR_RETURN(HttpRequest req, Object("GET", path, std::move(headers)));
    ASSIGN_OR_RETURN(HttpResponse resp, SendInto(client_, std::move(req), dst));
    if (resp.status == 416) return size_t{0};  // offset at or past the end
    if (resp.status != 206 && resp.status != 200) return Error(resp, "GET", path);
    RETURN_IF_ERROR(CheckServedRead(resp, offset, version, version_rule_, ReadName(path)));
    return resp.body_bytes;
  }

  Result<uint64_t> ReadStream(std::string_view path, std::string_view version, uint64_t offset,
                              uint64_t length, const ByteSink& sink) override {
    if (length == 0) return uint64_t{0};
    HeaderList headers;
    if (std::string range = RangeValue(offset, length); !range.empty()) {
      headers.emplace_back(Range(), std::move(range));
    }
    if (!version.empty()) Append(headers, dialect_->Precondition(version));
    ASSIGN_OR_RETURN(HttpRequest req, Object("GET", path, std::move(headers)));
    ASSIGN_OR_RETURN(HttpResponse resp, StreamBody(client_, std::move(req), offset, length, version,
                                                   version_rule_, sink, ReadName(path)));
    if (resp.status == 416) return uint64_t{0};  // offset at or past the end
    if (resp.status != 206 && resp.status != 200) return Error(resp, "GET", path);
    return uint64_t{resp.body_bytes};
  }

  Result<uint64_t> OpenStream(std::string_view path, uint64_t length, const InfoSink& on_info,
                              const ByteSink& sink) override {
    if (length == 0) return Origin::OpenStream(path, length, on_info, sink);
    HeaderList headers;
    if (std::string range = RangeValue(0, length); !range.empty()) {
      headers.emplace_back(Range(), std::move(range));
    }
    ASSIGN_OR_RETURN(HttpRequest req, Object("GET", path, std::move(headers)));
    bool informed = false;
    Result<HttpResponse> resp = OpenBody(client_, std::move(req), path, length, version_rule_,
                                         on_info, sink, ReadName(path), &informed);
    if (OpenNeedsStat(resp, informed)) return Origin::OpenStream(path, length, on_info, sink);
    if (!resp.ok()) return resp.status();
    if (resp->status != 206 && resp->status != 200) return Error(*resp, "GET", path);
    return uint64_t{resp->body_bytes};
  }

  Result<ListPage> List(const ListOptions& options) override {
    ASSIGN_OR_RETURN(HttpRequest req, dialect_->ListRequest(options));
    ASSIGN_OR_RETURN(HttpResponse resp, Send(Timed(std::move(req))));
    if (resp.status != 200) return Error(resp, "LIST", options.prefix);
    Result<ListPage> page = dialect_->ParseList(resp.body);
    if (!page.ok()) {
      return Unavailable("LIST " + dialect_->Name(options.prefix) + ": " + page.status().message());
    }
    return page;
  }

  // One PUT whose body is pulled from `source` as it is sent. Its timeout covers the whole
  // upload: at least the request timeout, more for large bodies (1 s per 4 MiB).
  Result<ObjectInfo> WriteStream(std::string_view path, uint64_t size,
                                 const ByteSource& source) override {
    ASSIGN_OR_RETURN(HeaderList headers, dialect_->WriteHeaders());
    ASSIGN_OR_RETURN(HttpRequest req,
                     dialect_->ObjectRequest("PUT", path, std::move(headers), size));
    req.body_source = source;
    req.body_source_size = size;
    req = Timed(std::move(req));
    req.timeout = std::max(req.timeout, std::chrono::milliseconds(size / (4 << 20) * 1000));
    ASSIGN_OR_RETURN(HttpResponse resp, Send(std::move(req)));
    if (resp.status != 200 && resp.status != 201) return Error(resp, "PUT", path);
    ObjectInfo info;
    info.path = std::string(path);
    info.size = size;
    info.version = dialect_->VersionOf(resp);
    std::optional<int64_t> mtime = ParseHttpDate(resp.Header("last-modified"));
    if (mtime && !info.version.empty()) {
      info.mtime_ms = *mtime;
      return info;
    }
    // Some stores (S3's PutObject) answer without Last-Modified: ask for the rest.
    Result<ObjectInfo> stated = Stat(path);
    return stated.ok() ? stated : info;
  }

  Status Delete(std::string_view path) override {
    RETURN_IF_ERROR(dialect_->WriteHeaders().status());  // read-only stores say so here
    ASSIGN_OR_RETURN(HttpResponse resp, Send(Object("DELETE", path, {})));
    if (resp.status == 200 || resp.status == 202 || resp.status == 204 || resp.status == 404) {
      return Status::Ok();
    }
    return Error(resp, "DELETE", path);
  }

 private:
  std::string Range() const { return std::string(dialect_->RangeHeader()); }

  std::string ReadName(std::string_view path) const { return "GET " + dialect_->Name(path); }

  static void Append(HeaderList& to, HeaderList more) {
    for (auto& h : more) to.push_back(std::move(h));
  }

  HttpRequest Timed(HttpRequest req) const {
    req.timeout = options_.request_timeout;
    req.connect_timeout = options_.connect_timeout;
    return req;
  }

  // Builds a body-less request of the object `path`, with the origin's timeouts.
  Result<HttpRequest> Object(std::string_view method, std::string_view path,
                             HeaderList headers) const {
    ASSIGN_OR_RETURN(HttpRequest req, dialect_->ObjectRequest(method, path, std::move(headers), 0));
    return Timed(std::move(req));
  }

  Result<HttpResponse> Send(Result<HttpRequest> req) {
    if (!req.ok()) return req.status();
    return client_.Send(*req);
  }

  // The metadata of an object whose one-byte read was unsatisfiable: empty, if a HEAD-less store
  // says so with a plain GET.
  Result<ObjectInfo> StatEmpty(std::string_view path) {
    ASSIGN_OR_RETURN(HttpResponse resp, Send(Object("GET", path, {})));
    if (resp.status != 200) return Error(resp, "GET", path);
    return InfoFromRead(resp, path, version_rule_);
  }

  Status Error(const HttpResponse& resp, std::string_view op, std::string_view path) const {
    return HttpErrorStatus(resp, std::string(op) + " " + dialect_->Name(path),
                           dialect_->ErrorCode(resp));
  }

  const std::unique_ptr<StoreDialect> dialect_;
  const ObjectStoreOptions options_;
  const VersionRule version_rule_;
  HttpClient client_;
};

}  // namespace

std::unique_ptr<Origin> NewObjectStoreOrigin(std::unique_ptr<StoreDialect> dialect,
                                             ObjectStoreOptions options) {
  return std::make_unique<ObjectStoreOrigin>(std::move(dialect), options);
}

}  // namespace unicache

#include "origin/http_origin.h"

#include "common/http_date.h"
#include "common/object_path.h"
#include "common/text.h"
#include "origin/http_util.h"

namespace unicache {
namespace {

constexpr std::string_view kLastModifiedVersion = "lm-";

class HttpDialect final : public StoreDialect {
 public:
  explicit HttpDialect(HttpOriginUri uri) : uri_(std::move(uri)) {}

  std::string_view Scheme() const override { return "http"; }

  std::string Name(std::string_view path) const override {
    return uri_.scheme + "://" + uri_.authority + uri_.base + std::string(path);
  }

  Result<HttpRequest> ObjectRequest(std::string_view method, std::string_view path,
                                    HeaderList headers, uint64_t) const override {
    HttpRequest req;
    req.method = std::string(method);
    req.url = uri_.scheme + "://" + uri_.authority + uri_.base + PercentEncode(path, true) +
              (uri_.query.empty() ? "" : "?" + uri_.query);
    req.headers = std::move(headers);
    return req;
  }

  Result<HttpRequest> ListRequest(const ListOptions&) const override {
    return Unimplemented(Name("") +
                         " is a plain HTTP origin: it cannot be listed (read objects by path)");
  }

  Result<ListPage> ParseList(std::string_view) const override {
    return Unimplemented("a plain HTTP origin has no listing");
  }

  Result<HeaderList> WriteHeaders() const override {
    return Unimplemented(Name("") + " is a plain HTTP origin: it is read-only");
  }

  std::string ErrorCode(const HttpResponse&) const override { return ""; }

  std::string VersionOf(const HttpResponse& head) const override { return HttpVersionOf(head); }

  HeaderList Precondition(std::string_view version) const override {
    if (version.starts_with(kLastModifiedVersion)) {
      std::string_view rest = version.substr(kLastModifiedVersion.size());
      std::optional<int64_t> ms = ParseDecimal<int64_t>(rest.substr(0, rest.find('-')));
      if (!ms) return {};
      return {{"If-Unmodified-Since", FormatHttpDate(*ms)}};
    }
    return StoreDialect::Precondition(version);
  }

  // Signed URLs are often signed for GET only (403 to HEAD); some servers refuse HEAD (405, 501).
  bool StatByGet(int status) const override {
    return status == 403 || status == 405 || status == 501;
  }

 private:
  const HttpOriginUri uri_;
};

}  // namespace

std::string HttpVersionOf(const HttpResponse& head) {
  const std::string etag = head.Header("etag");
  if (!etag.empty() && !etag.starts_with("W/")) return NormalizeEtag(etag);
  std::optional<int64_t> mtime = ParseHttpDate(head.Header("last-modified"));
  std::optional<uint64_t> size = StatedSize(head);
  if (!mtime || !size) return "";
  return std::string(kLastModifiedVersion) + std::to_string(*mtime) + "-" + std::to_string(*size);
}

Result<HttpOriginUri> ParseHttpOriginUri(std::string_view uri) {
  HttpOriginUri out;
  const size_t colon = uri.find("://");
  if (colon == std::string_view::npos) return InvalidArgument("not an http(s):// URI");
  out.scheme = AsciiLower(uri.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") {
    return InvalidArgument("not an http(s):// URI");
  }
  std::string_view after = uri.substr(colon + 3);
  after = after.substr(0, after.find('#'));
  auto [rest, query] = SplitUriQuery(after);
  out.query = std::string(query);
  const size_t slash = rest.find('/');
  out.authority = std::string(rest.substr(0, slash));
  if (out.authority.empty()) return InvalidArgument("http origin URI has no host");
  if (out.authority.find('@') != std::string::npos) {
    return InvalidArgument(
        "http origin URI: user:password@ is not taken (it would appear in logs); use a signed URL "
        "base or a server that needs no credentials");
  }
  ASSIGN_OR_RETURN(std::string base,
                   OriginRoot(slash == std::string_view::npos ? "" : rest.substr(slash + 1),
                              "http origin URI path"));
  out.base = "/" + base;
  return out;
}

Result<std::unique_ptr<Origin>> OpenHttpOrigin(std::string_view uri,
                                               const ObjectStoreOptions& options) {
  ASSIGN_OR_RETURN(HttpOriginUri parsed, ParseHttpOriginUri(uri));
  return NewObjectStoreOrigin(std::make_unique<HttpDialect>(std::move(parsed)), options);
}

}  // namespace unicache

#include "origin/s3_origin.h"

#include <algorithm>
#include <cctype>

#include "common/crypto.h"
#include "common/object_path.h"
#include "origin/http_util.h"
#include "origin/xml_extract.h"

namespace unicache {
namespace {

bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

class S3Dialect final : public StoreDialect {
 public:
  S3Dialect(S3Uri uri, AwsCredentials creds) : uri_(std::move(uri)), creds_(std::move(creds)) {
    std::string_view ep = uri_.endpoint;
    size_t scheme = ep.find("://");
    scheme_ = std::string(ep.substr(0, scheme));
    std::string_view host = ep.substr(scheme + 3);
    host = host.substr(0, host.find('/'));
    host_ = uri_.path_style ? std::string(host) : uri_.bucket + "." + std::string(host);
    base_path_ = uri_.path_style ? "/" + uri_.bucket : "";
  }

  std::string_view Scheme() const override { return "s3"; }

  std::string Name(std::string_view path) const override {
    return "s3://" + uri_.bucket + "/" + uri_.root + std::string(path);
  }

  Result<HttpRequest> ObjectRequest(std::string_view method, std::string_view path,
                                    HeaderList headers, uint64_t body_length) const override {
    return Build(std::string(method), "/" + PercentEncode(uri_.root + std::string(path), true), {},
                 std::move(headers), body_length > 0);
  }

  Result<HttpRequest> ListRequest(const ListOptions& options) const override {
    HeaderList query = {{"list-type", "2"}};
    std::string prefix = uri_.root + options.prefix;
    if (!prefix.empty()) query.emplace_back("prefix", prefix);
    if (!options.delimiter.empty()) query.emplace_back("delimiter", options.delimiter);
    if (!options.token.empty()) query.emplace_back("continuation-token", options.token);
    query.emplace_back("max-keys", std::to_string(std::clamp<size_t>(options.max_keys, 1, 1000)));
    return Build("GET", "/", std::move(query), {}, false);
  }

  Result<ListPage> ParseList(std::string_view body) const override {
    ASSIGN_OR_RETURN(ListPage page, ParseListObjectsV2Xml(body));
    return RelativeToRoot(std::move(page), uri_.root);
  }

  Result<HeaderList> WriteHeaders() const override {
    return HeaderList{{"content-type", "application/octet-stream"}};
  }

 private:
  // Builds a signed request; `path` is relative to the bucket, already encoded. A request with a
  // `streamed_body` is signed with an UNSIGNED-PAYLOAD hash (the bytes are not in hand);
  // others have an empty body.
  HttpRequest Build(std::string method, const std::string& path, HeaderList query,
                    HeaderList headers, bool streamed_body) const {
    std::string amz_date = AmzDate(std::chrono::system_clock::now());
    SigV4Request sig;
    sig.method = method;
    sig.canonical_uri = base_path_ + path;
    sig.query = std::move(query);
    sig.payload_hash = streamed_body ? "UNSIGNED-PAYLOAD" : Sha256Hex("");
    sig.headers = std::move(headers);
    sig.headers.emplace_back("host", host_);
    sig.headers.emplace_back("x-amz-date", amz_date);
    sig.headers.emplace_back("x-amz-content-sha256", sig.payload_hash);
    if (!creds_.session_token.empty())
      sig.headers.emplace_back("x-amz-security-token", creds_.session_token);
    HttpRequest http;
    http.method = std::move(method);
    std::string qs = CanonicalQueryString(sig.query);
    http.url = scheme_ + "://" + host_ + sig.canonical_uri + (qs.empty() ? "" : "?" + qs);
    http.headers = sig.headers;
    if (!creds_.access_key_id.empty()) {
      http.headers.emplace_back("Authorization",
                                SigV4Authorization(creds_, uri_.region, "s3", amz_date, sig));
    }
    return http;
  }

  const S3Uri uri_;
  const AwsCredentials creds_;
  std::string scheme_;
  std::string host_;       // Host header and URL authority
  std::string base_path_;  // "/bucket" for path style, "" for virtual-hosted
};

}  // namespace

Result<S3Uri> ParseS3Uri(std::string_view uri) {
  if (!uri.starts_with("s3://")) return InvalidArgument("not an s3:// URI");
  auto [rest, query] = SplitUriQuery(uri.substr(5));
  S3Uri out;
  size_t slash = rest.find('/');
  out.bucket = std::string(rest.substr(0, slash));
  if (!ValidBucket(out.bucket)) {
    return InvalidArgument("s3 URI: bucket must be 3-63 lower-case letters, digits, '-' or '.'");
  }
  if (slash != std::string_view::npos) {
    ASSIGN_OR_RETURN(out.root, OriginRoot(rest.substr(slash + 1), "s3 URI prefix"));
  }
  ASSIGN_OR_RETURN(auto params, ParseUriQuery(query, {"endpoint", "region", "style"}));
  ASSIGN_OR_RETURN(out.endpoint, EndpointParam(params["endpoint"], "s3 URI"));
  out.region = params["region"];
  const std::string& style = params["style"];
  if (style.empty()) {
    out.path_style = !out.endpoint.empty();
  } else if (style == "path" || style == "virtual") {
    out.path_style = style == "path";
  } else {
    return InvalidArgument("s3 URI: style must be 'path' or 'virtual'");
  }
  if (!out.path_style && out.bucket.find('.') != std::string::npos &&
      (out.endpoint.empty() || out.endpoint.starts_with("https://"))) {
    return InvalidArgument("s3 URI: a bucket name with '.' needs style=path over https");
  }
  return out;
}

Result<ListPage> ParseListObjectsV2Xml(std::string_view xml) {
  ListPage page;
  ASSIGN_OR_RETURN(std::vector<XmlElement> contents, XmlChildren(xml, "Contents"));
  for (const XmlElement& c : contents) {
    ObjectInfo info;
    ASSIGN_OR_RETURN(info.path, XmlText(c.inner, "Key"));
    if (info.path.empty()) return InvalidArgument("malformed listing: <Contents> without <Key>");
    ASSIGN_OR_RETURN(std::string etag, XmlText(c.inner, "ETag"));
    info.version = NormalizeEtag(etag);
    ASSIGN_OR_RETURN(std::string size, XmlText(c.inner, "Size"));
    info.size = std::strtoull(size.c_str(), nullptr, 10);
    ASSIGN_OR_RETURN(std::string mtime, XmlText(c.inner, "LastModified"));
    info.mtime_ms = ParseIsoDateMs(mtime);
    page.objects.push_back(std::move(info));
  }
  ASSIGN_OR_RETURN(std::vector<XmlElement> common, XmlChildren(xml, "CommonPrefixes"));
  for (const XmlElement& c : common) {
    ASSIGN_OR_RETURN(std::string prefix, XmlText(c.inner, "Prefix"));
    page.prefixes.push_back(std::move(prefix));
  }
  ASSIGN_OR_RETURN(std::string truncated, XmlText(xml, "IsTruncated"));
  if (truncated == "true") {
    ASSIGN_OR_RETURN(page.next_token, XmlText(xml, "NextContinuationToken"));
    if (page.next_token.empty())
      return InvalidArgument("truncated listing without NextContinuationToken");
  }
  return page;
}

Result<std::unique_ptr<Origin>> OpenS3Origin(std::string_view uri, const EnvLookup& env,
                                             const ObjectStoreOptions& options) {
  ASSIGN_OR_RETURN(S3Uri parsed, ParseS3Uri(uri));
  if (parsed.region.empty())
    parsed.region = env("AWS_REGION").value_or(env("AWS_DEFAULT_REGION").value_or("us-east-1"));
  if (parsed.endpoint.empty()) parsed.endpoint = "https://s3." + parsed.region + ".amazonaws.com";
  AwsCredentials creds;
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (id.has_value() != secret.has_value()) {
    return InvalidArgument("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither");
  }
  if (id) {
    creds.access_key_id = *id;
    creds.secret_access_key = *secret;
    creds.session_token = env("AWS_SESSION_TOKEN").value_or("");
  }
  return NewObjectStoreOrigin(std::make_unique<S3Dialect>(std::move(parsed), std::move(creds)),
                              options);
}

}  // namespace unicache

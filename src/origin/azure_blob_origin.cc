#include "origin/azure_blob_origin.h"

#include <algorithm>
#include <cctype>

#include "common/http_client.h"
#include "common/object_path.h"
#include "origin/http_status.h"
#include "origin/http_util.h"
#include "origin/xml_extract.h"

namespace unicache {
namespace {

bool ValidAccount(std::string_view a) {
  return a.size() >= 3 && a.size() <= 24 && std::all_of(a.begin(), a.end(), [](char c) {
           return std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c));
         });
}

bool ValidContainer(std::string_view c) {
  if (c.size() < 3 || c.size() > 63 || c.front() == '-' || c.back() == '-') return false;
  if (c.find("--") != std::string_view::npos) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) {
    return std::islower(static_cast<unsigned char>(ch)) ||
           std::isdigit(static_cast<unsigned char>(ch)) || ch == '-';
  });
}

// Returns a blob name's text; names Azure could not put in XML arrive percent-encoded.
Result<std::string> BlobName(const XmlElement& e) {
  ASSIGN_OR_RETURN(std::string name, XmlDecode(e.inner));
  if (e.attributes.find("Encoded=\"true\"") != std::string_view::npos) return PercentDecode(name);
  return name;
}

class AzureBlobOrigin final : public Origin {
 public:
  AzureBlobOrigin(AzureBlobUri uri, AzureCredentials creds, std::string endpoint,
                  AzureBlobOptions options)
      : uri_(std::move(uri)),
        creds_(std::move(creds)),
        endpoint_(std::move(endpoint)),
        options_(options) {}

  std::string_view Scheme() const override { return "azure"; }

  Result<ObjectInfo> Stat(std::string_view path) override {
    AzureRequest req;
    req.method = "HEAD";
    req.path = BlobPath(path);
    ASSIGN_OR_RETURN(HttpResponse resp, Send(std::move(req)));
    if (resp.status != 200) return Error(resp, "HEAD", path);
    ObjectInfo info;
    info.path = std::string(path);
    info.size = std::strtoull(resp.Header("content-length").c_str(), nullptr, 10);
    info.version = NormalizeEtag(resp.Header("etag"));
    info.mtime_ms = ParseHttpDate(resp.Header("last-modified")).value_or(0);
    return info;
  }

  Result<size_t> Read(std::string_view path, std::string_view version, uint64_t offset,
                      std::span<std::byte> dst) override {
    if (dst.empty()) return size_t{0};
    AzureRequest req;
    req.path = BlobPath(path);
    req.headers.emplace_back("x-ms-range", "bytes=" + std::to_string(offset) + "-" +
                                               std::to_string(offset + dst.size() - 1));
    if (!version.empty()) req.headers.emplace_back("If-Match", QuoteEtag(version));
    ASSIGN_OR_RETURN(HttpRequest http, Build(std::move(req)));
    ASSIGN_OR_RETURN(HttpResponse resp, SendInto(client_, std::move(http), dst));
    if (resp.status == 416) return size_t{0};  // offset at or past the end
    if (resp.status != 206 && resp.status != 200) return Error(resp, "GET", path);
    RETURN_IF_ERROR(CheckServedRead(resp, offset, version, ReadName(path)));
    return resp.body_bytes;
  }

  Result<uint64_t> ReadStream(std::string_view path, std::string_view version, uint64_t offset,
                              uint64_t length, const ByteSink& sink) override {
    if (length == 0) return uint64_t{0};
    AzureRequest req;
    req.path = BlobPath(path);
    if (std::string range = RangeValue(offset, length); !range.empty()) {
      req.headers.emplace_back("x-ms-range", std::move(range));
    }
    if (!version.empty()) req.headers.emplace_back("If-Match", QuoteEtag(version));
    ASSIGN_OR_RETURN(HttpRequest http, Build(std::move(req)));
    ASSIGN_OR_RETURN(HttpResponse resp, StreamBody(client_, std::move(http), offset, length,
                                                   version, sink, ReadName(path)));
    if (resp.status == 416) return uint64_t{0};  // offset at or past the end
    if (resp.status != 206 && resp.status != 200) return Error(resp, "GET", path);
    return uint64_t{resp.body_bytes};
  }

  Result<uint64_t> OpenStream(std::string_view path, uint64_t length, const InfoSink& on_info,
                              const ByteSink& sink) override {
    if (length == 0) return Origin::OpenStream(path, length, on_info, sink);
    AzureRequest req;
    req.path = BlobPath(path);
    if (std::string range = RangeValue(0, length); !range.empty()) {
      req.headers.emplace_back("x-ms-range", std::move(range));
    }
    ASSIGN_OR_RETURN(HttpRequest http, Build(std::move(req)));
    bool informed = false;
    Result<HttpResponse> resp =
        OpenBody(client_, std::move(http), path, length, on_info, sink, ReadName(path), &informed);
    if (OpenNeedsStat(resp, informed)) return Origin::OpenStream(path, length, on_info, sink);
    if (!resp.ok()) return resp.status();
    if (resp->status != 206 && resp->status != 200) return Error(*resp, "GET", path);
    return uint64_t{resp->body_bytes};
  }

  Result<ListPage> List(const ListOptions& options) override {
    AzureRequest req;
    req.path = "/" + uri_.container;
    req.query = {{"restype", "container"}, {"comp", "list"}};
    std::string prefix = uri_.root + options.prefix;
    if (!prefix.empty()) req.query.emplace_back("prefix", prefix);
    if (!options.delimiter.empty()) req.query.emplace_back("delimiter", options.delimiter);
    if (!options.token.empty()) req.query.emplace_back("marker", options.token);
    req.query.emplace_back("maxresults",
                           std::to_string(std::clamp<size_t>(options.max_keys, 1, 5000)));
    ASSIGN_OR_RETURN(HttpResponse resp, Send(std::move(req)));
    if (resp.status != 200) return Error(resp, "LIST", options.prefix);
    auto page = ParseBlobListXml(resp.body);
    if (!page.ok()) return Unavailable("LIST " + uri_.container + ": " + page.status().message());
    for (ObjectInfo& o : page->objects)
      o.path = o.path.substr(std::min(o.path.size(), uri_.root.size()));
    for (std::string& p : page->prefixes) p = p.substr(std::min(p.size(), uri_.root.size()));
    return page;
  }

  Result<ObjectInfo> Write(std::string_view path, std::span<const std::byte> data) override {
    AzureRequest req;
    req.method = "PUT";
    req.path = BlobPath(path);
    req.headers = {{"x-ms-blob-type", "BlockBlob"}, {"Content-Type", "application/octet-stream"}};
    req.body.assign(reinterpret_cast<const char*>(data.data()), data.size());
    ASSIGN_OR_RETURN(HttpResponse resp, Send(std::move(req)));
    if (resp.status != 201 && resp.status != 200) return Error(resp, "PUT", path);
    ObjectInfo info;
    info.path = std::string(path);
    info.size = data.size();
    info.version = NormalizeEtag(resp.Header("etag"));
    info.mtime_ms = ParseHttpDate(resp.Header("last-modified")).value_or(0);
    return info;
  }

 private:
  // Returns "GET container/blob" for errors about reading `path`.
  std::string ReadName(std::string_view path) const {
    return "GET " + uri_.container + "/" + std::string(path);
  }

  std::string BlobPath(std::string_view path) const {
    return "/" + uri_.container + "/" + PercentEncode(uri_.root + std::string(path), true);
  }

  Result<HttpRequest> Build(AzureRequest req) const {
    ASSIGN_OR_RETURN(HttpRequest http, BuildAzureHttpRequest(creds_, endpoint_, std::move(req),
                                                             std::chrono::system_clock::now()));
    http.timeout = options_.request_timeout;
    http.connect_timeout = options_.connect_timeout;
    return http;
  }

  Result<HttpResponse> Send(AzureRequest req) {
    ASSIGN_OR_RETURN(HttpRequest http, Build(std::move(req)));
    return client_.Send(http);
  }

  Status Error(const HttpResponse& resp, std::string_view op, std::string_view path) const {
    std::string code = resp.Header("x-ms-error-code");
    if (code.empty() && !resp.body.empty()) {
      if (auto parsed = XmlText(resp.body, "Code"); parsed.ok()) code = *parsed;
    }
    return HttpErrorStatus(resp,
                           std::string(op) + " azure://" + uri_.account + "/" + uri_.container +
                               "/" + uri_.root + std::string(path),
                           code);
  }

  const AzureBlobUri uri_;
  const AzureCredentials creds_;
  const std::string endpoint_;
  const AzureBlobOptions options_;
  HttpClient client_;
};

}  // namespace

Result<AzureBlobUri> ParseAzureBlobUri(std::string_view uri) {
  if (!uri.starts_with("azure://")) return InvalidArgument("not an azure:// URI");
  std::string_view rest = uri.substr(8);
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  AzureBlobUri out;
  size_t slash = rest.find('/');
  out.account = std::string(rest.substr(0, slash));
  if (!ValidAccount(out.account)) {
    return InvalidArgument("azure URI: account must be 3-24 lower-case letters or digits");
  }
  if (slash == std::string_view::npos)
    return InvalidArgument("azure URI needs a container: azure://ACCOUNT/CONTAINER[/PREFIX]");
  rest = rest.substr(slash + 1);
  slash = rest.find('/');
  out.container = std::string(rest.substr(0, slash));
  if (!ValidContainer(out.container)) {
    return InvalidArgument("azure URI: container must be 3-63 lower-case letters, digits or '-'");
  }
  if (slash != std::string_view::npos) {
    std::string root(rest.substr(slash + 1));
    if (!root.empty()) {
      if (root.back() != '/') root.push_back('/');
      RETURN_IF_ERROR(ValidatePrefix(root).WithContext("azure URI prefix"));
    }
    out.root = std::move(root);
  }
  ASSIGN_OR_RETURN(auto params, ParseUriQuery(query, {"endpoint"}));
  out.endpoint = params["endpoint"];
  while (!out.endpoint.empty() && out.endpoint.back() == '/') out.endpoint.pop_back();
  if (!out.endpoint.empty() && !out.endpoint.starts_with("http://") &&
      !out.endpoint.starts_with("https://")) {
    return InvalidArgument("azure URI: endpoint must start with http:// or https://");
  }
  return out;
}

Result<ListPage> ParseBlobListXml(std::string_view xml) {
  ListPage page;
  ASSIGN_OR_RETURN(std::vector<XmlElement> blobs_section, XmlChildren(xml, "Blobs"));
  for (const XmlElement& section : blobs_section) {
    ASSIGN_OR_RETURN(std::vector<XmlElement> blobs, XmlChildren(section.inner, "Blob"));
    for (const XmlElement& blob : blobs) {
      ASSIGN_OR_RETURN(std::vector<XmlElement> names, XmlChildren(blob.inner, "Name"));
      if (names.empty()) return InvalidArgument("malformed blob listing: <Blob> without <Name>");
      ObjectInfo info;
      ASSIGN_OR_RETURN(info.path, BlobName(names.front()));
      ASSIGN_OR_RETURN(std::string etag, XmlText(blob.inner, "Etag"));
      info.version = NormalizeEtag(etag);
      ASSIGN_OR_RETURN(std::string size, XmlText(blob.inner, "Content-Length"));
      info.size = std::strtoull(size.c_str(), nullptr, 10);
      ASSIGN_OR_RETURN(std::string mtime, XmlText(blob.inner, "Last-Modified"));
      info.mtime_ms = ParseHttpDate(mtime).value_or(0);
      page.objects.push_back(std::move(info));
    }
    ASSIGN_OR_RETURN(std::vector<XmlElement> prefixes, XmlChildren(section.inner, "BlobPrefix"));
    for (const XmlElement& p : prefixes) {
      ASSIGN_OR_RETURN(std::vector<XmlElement> names, XmlChildren(p.inner, "Name"));
      if (names.empty())
        return InvalidArgument("malformed blob listing: <BlobPrefix> without <Name>");
      ASSIGN_OR_RETURN(std::string name, BlobName(names.front()));
      page.prefixes.push_back(std::move(name));
    }
  }
  ASSIGN_OR_RETURN(page.next_token, XmlText(xml, "NextMarker"));
  return page;
}

Result<std::unique_ptr<Origin>> OpenAzureBlobOrigin(std::string_view uri, const EnvLookup& env,
                                                    const AzureBlobOptions& options) {
  ASSIGN_OR_RETURN(AzureBlobUri parsed, ParseAzureBlobUri(uri));
  ASSIGN_OR_RETURN(AzureCredentials creds, AzureCredentialsFromEnv(parsed.account, env));
  std::string endpoint = parsed.endpoint;
  if (endpoint.empty()) endpoint = creds.blob_endpoint;
  if (endpoint.empty()) endpoint = "https://" + parsed.account + ".blob.core.windows.net";
  return std::unique_ptr<Origin>(
      new AzureBlobOrigin(std::move(parsed), std::move(creds), std::move(endpoint), options));
}

}  // namespace unicache

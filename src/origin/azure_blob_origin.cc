#include "origin/azure_blob_origin.h"

#include <algorithm>
#include <cctype>

#include "common/object_path.h"
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

class AzureBlobDialect final : public StoreDialect {
 public:
  AzureBlobDialect(AzureBlobUri uri, AzureCredentials creds, std::string endpoint)
      : uri_(std::move(uri)), creds_(std::move(creds)), endpoint_(std::move(endpoint)) {}

  std::string_view Scheme() const override { return "azure"; }

  std::string Name(std::string_view path) const override {
    return "azure://" + uri_.account + "/" + uri_.container + "/" + uri_.root + std::string(path);
  }

  std::string_view RangeHeader() const override { return "x-ms-range"; }

  Result<HttpRequest> ObjectRequest(std::string_view method, std::string_view path,
                                    HeaderList headers, uint64_t body_length) const override {
    AzureRequest req;
    req.method = std::string(method);
    req.path = "/" + uri_.container + "/" + PercentEncode(uri_.root + std::string(path), true);
    req.headers = std::move(headers);
    req.body_length = body_length;
    return BuildAzureHttpRequest(creds_, endpoint_, std::move(req),
                                 std::chrono::system_clock::now());
  }

  Result<HttpRequest> ListRequest(const ListOptions& options) const override {
    AzureRequest req;
    req.path = "/" + uri_.container;
    req.query = {{"restype", "container"}, {"comp", "list"}};
    std::string prefix = uri_.root + options.prefix;
    if (!prefix.empty()) req.query.emplace_back("prefix", prefix);
    if (!options.delimiter.empty()) req.query.emplace_back("delimiter", options.delimiter);
    if (!options.token.empty()) req.query.emplace_back("marker", options.token);
    req.query.emplace_back("maxresults",
                           std::to_string(std::clamp<size_t>(options.max_keys, 1, 5000)));
    return BuildAzureHttpRequest(creds_, endpoint_, std::move(req),
                                 std::chrono::system_clock::now());
  }

  Result<ListPage> ParseList(std::string_view body) const override {
    ASSIGN_OR_RETURN(ListPage page, ParseBlobListXml(body));
    return RelativeToRoot(std::move(page), uri_.root);
  }

  Result<HeaderList> WriteHeaders() const override {
    return HeaderList{{"x-ms-blob-type", "BlockBlob"},
                      {"Content-Type", "application/octet-stream"}};
  }

  std::string ErrorCode(const HttpResponse& resp) const override {
    std::string code = resp.Header("x-ms-error-code");
    return code.empty() ? StoreDialect::ErrorCode(resp) : code;
  }

 private:
  const AzureBlobUri uri_;
  const AzureCredentials creds_;
  const std::string endpoint_;
};

}  // namespace

Result<AzureBlobUri> ParseAzureBlobUri(std::string_view uri) {
  if (!uri.starts_with("azure://")) return InvalidArgument("not an azure:// URI");
  auto [rest, query] = SplitUriQuery(uri.substr(8));
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
    ASSIGN_OR_RETURN(out.root, OriginRoot(rest.substr(slash + 1), "azure URI prefix"));
  }
  ASSIGN_OR_RETURN(auto params, ParseUriQuery(query, {"endpoint"}));
  ASSIGN_OR_RETURN(out.endpoint, EndpointParam(params["endpoint"], "azure URI"));
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
                                                    const ObjectStoreOptions& options) {
  ASSIGN_OR_RETURN(AzureBlobUri parsed, ParseAzureBlobUri(uri));
  ASSIGN_OR_RETURN(AzureCredentials creds, AzureCredentialsFromEnv(parsed.account, env));
  std::string endpoint = parsed.endpoint;
  if (endpoint.empty()) endpoint = creds.blob_endpoint;
  if (endpoint.empty()) endpoint = "https://" + parsed.account + ".blob.core.windows.net";
  return NewObjectStoreOrigin(
      std::make_unique<AzureBlobDialect>(std::move(parsed), std::move(creds), std::move(endpoint)),
      options);
}

}  // namespace unicache

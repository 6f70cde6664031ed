#include "client/object_client.h"

#include "client/transport.h"
#include "common/http_answer.h"
#include "common/object_json.h"
#include "common/object_path.h"
#include "common/status_http.h"

namespace unicache {

ObjectClient::ObjectClient(std::string node) : node_(std::move(node)) {}

std::string ObjectClient::ObjectUrl(const std::string& origin, const std::string& path) const {
  return "http://" + node_ + "/v1/objects/" + PercentEncode(origin) + "/" + PercentEncode(path);
}

Result<ObjectInfo> ObjectClient::Head(const std::string& origin, const std::string& path) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = ObjectUrl(origin, path);
  ASSIGN_OR_RETURN(HttpResponse resp, http_.Send(req));
  // A HEAD error states its reason in a header, which StatusFromResponse reads.
  if (resp.status != 200) return StatusFromAnswer(resp, origin + "/" + path);
  ObjectInfo info;
  info.path = path;
  info.size = std::strtoull(resp.Header("content-length").c_str(), nullptr, 10);
  info.version = NormalizeEtag(resp.Header("etag"));
  return info;
}

Result<size_t> ObjectClient::Read(const std::string& origin, const std::string& path,
                                  const std::string& version, uint64_t offset,
                                  std::span<std::byte> dst) {
  if (dst.empty()) return size_t{0};
  HttpRequest req;
  req.url = ObjectUrl(origin, path);
  req.headers.emplace_back(
      "Range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + dst.size() - 1));
  if (!version.empty()) req.headers.emplace_back("If-Match", QuoteEtag(version));
  req.body_sink = dst;
  req.check_head = [&](const HttpResponse& head) {
    return CheckRangeAnswer(head,
                            RangeQuestion{offset, dst.size(), RangeQuestion::kUnknown, version},
                            node_ + " " + origin + "/" + path);
  };
  ASSIGN_OR_RETURN(HttpResponse resp, http_.Send(req));
  if (resp.status != 206 && resp.status != 200) return StatusFromAnswer(resp, origin + "/" + path);
  return resp.body_bytes;
}

Result<ListPage> ObjectClient::List(const std::string& origin, const ListOptions& options) {
  HttpRequest req;
  req.url = "http://" + node_ + "/v1/list/" + PercentEncode(origin) + "/" +
            PercentEncode(options.prefix) + "?max-keys=" + std::to_string(options.max_keys);
  if (!options.delimiter.empty())
    req.url += "&delimiter=" + PercentEncode(options.delimiter, false);
  if (!options.token.empty()) req.url += "&token=" + PercentEncode(options.token, false);
  ASSIGN_OR_RETURN(HttpResponse resp, http_.Send(req));
  if (resp.status != 200) return StatusFromAnswer(resp, "list " + origin + "/" + options.prefix);
  return ListPageFromJson(resp.body, "list " + origin + "/" + options.prefix);
}

Result<std::string> ObjectClient::GetText(const std::string& path) {
  HttpRequest req;
  req.url = "http://" + node_ + path;
  ASSIGN_OR_RETURN(HttpResponse resp, http_.Send(req));
  if (resp.status != 200) return StatusFromAnswer(resp, path);
  return resp.body;
}

}  // namespace unicache

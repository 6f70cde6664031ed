#include "origin/http_util.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <functional>

#include "common/object_path.h"
#include "common/text.h"

namespace unicache {
namespace {

// Bodies at least this large go straight into the caller's buffer.
constexpr size_t kSinkThreshold = 64 * 1024;

// Returns a body stream that runs `first` on the response head before the first piece, then
// hands the pieces to `sink`, failing a body longer than `length` (kToEnd: any length).
// `first`, `sink` and `what` must outlive it.
std::function<Status(const HttpResponse&, std::span<const std::byte>)> BoundedStream(
    uint64_t length, const std::string& what,
    const std::function<Status(const HttpResponse&)>& first, const ByteSink& sink) {
  return [length, &what, &first, &sink, started = false, delivered = uint64_t{0}](
             const HttpResponse& head, std::span<const std::byte> piece) mutable -> Status {
    if (!started) {
      RETURN_IF_ERROR(first(head));
      started = true;
    }
    if (length != kToEnd && delivered + piece.size() > length) {
      return Internal(what + ": server sent more than the " + std::to_string(length) +
                      " bytes asked for");
    }
    delivered += piece.size();
    return sink(piece);
  };
}

}  // namespace

UriParts SplitUriQuery(std::string_view after_scheme) {
  const size_t q = after_scheme.find('?');
  if (q == std::string_view::npos) return {after_scheme, ""};
  return {after_scheme.substr(0, q), after_scheme.substr(q + 1)};
}

Result<std::string> OriginRoot(std::string_view text, std::string_view what) {
  std::string root(text);
  if (root.empty()) return root;
  if (root.back() != '/') root.push_back('/');
  RETURN_IF_ERROR(ValidatePrefix(root).WithContext(what));
  return root;
}

Result<std::string> EndpointParam(std::string endpoint, std::string_view what) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (!endpoint.empty() && !endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
    return InvalidArgument(std::string(what) + ": endpoint must start with http:// or https://");
  }
  return endpoint;
}

Result<std::map<std::string, std::string>> ParseUriQuery(
    std::string_view query, std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view part =
        query.substr(pos, amp == std::string_view::npos ? query.npos : amp - pos);
    pos = amp == std::string_view::npos ? query.size() : amp + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string name(part.substr(0, eq));
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return InvalidArgument("unknown origin URI parameter '" + name.substr(0, 32) +
                             "' (allowed: " + list + "; credentials come from the environment)");
    }
    auto value = PercentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (!value.ok()) return InvalidArgument("origin URI parameter '" + name + "' is badly encoded");
    out[name] = std::move(value).value();
  }
  return out;
}

ListPage RelativeToRoot(ListPage page, std::string_view root) {
  for (ObjectInfo& o : page.objects) o.path = o.path.substr(std::min(o.path.size(), root.size()));
  for (std::string& p : page.prefixes) p = p.substr(std::min(p.size(), root.size()));
  return page;
}

int64_t ParseIsoDateMs(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return 0;
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (*rest == '.') {
    int64_t scale = 100;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest) {
      ms += (*rest - '0') * scale;
      scale /= 10;
    }
  }
  return ms;
}

std::string EtagVersion(const HttpResponse& head) { return NormalizeEtag(head.Header("etag")); }

std::optional<uint64_t> StatedSize(const HttpResponse& head) {
  if (head.status == 206) {
    std::optional<ContentRange> range = ParseContentRange(head.Header("content-range"));
    if (!range) return std::nullopt;
    return range->total;
  }
  return ParseDecimal<uint64_t>(head.Header("content-length"));
}

Result<HttpResponse> SendInto(HttpClient& client, HttpRequest req, std::span<std::byte> dst) {
  if (dst.size() >= kSinkThreshold) {
    req.body_sink = dst;
    Result<HttpResponse> r = client.Send(req);
    // An over-long body (a server that ignored Range) is retried below into memory.
    if (r.ok() || r.status().code() != StatusCode::kResourceExhausted) return r;
    req.body_sink = {};
  }
  ASSIGN_OR_RETURN(HttpResponse resp, client.Send(req));
  if (resp.status >= 200 && resp.status < 300) {
    size_t n = std::min(resp.body.size(), dst.size());
    if (n > 0) std::memcpy(dst.data(), resp.body.data(), n);
    resp.body_bytes = n;
    if (resp.body.size() > dst.size()) {
      return Internal("origin returned " + std::to_string(resp.body.size()) + " bytes for a " +
                      std::to_string(dst.size()) + "-byte range");
    }
  }
  return resp;
}

Status CheckServedRead(const HttpResponse& resp, uint64_t offset, std::string_view version,
                       const VersionRule& rule, const std::string& what) {
  if (resp.status == 200 && offset != 0) return Internal(what + ": server ignored the range");
  if (resp.status == 206 && resp.Header("content-length") != "0") {
    // The bytes must start where they were asked for: a proxy or cache between us and the
    // origin that answers with another range must not become data. (An empty answer carries no
    // bytes to misplace; Azurite states "bytes 1200-1199/1200" for a read at the end.)
    std::optional<ContentRange> range = ParseContentRange(resp.Header("content-range"));
    if (!range || range->first != offset) {
      return Unavailable(what + ": the answer is not the range asked for (Content-Range '" +
                         resp.Header("content-range").substr(0, 80) + "', expected bytes " +
                         std::to_string(offset) + "-)");
    }
  }
  if (std::string served = rule(resp); !version.empty() && !served.empty() && served != version) {
    return PreconditionFailed(what + ": object changed (version " + served + ", expected " +
                              std::string(version) + ")");
  }
  return Status::Ok();
}

std::string RangeValue(uint64_t offset, uint64_t length) {
  if (length == kToEnd) return offset == 0 ? "" : "bytes=" + std::to_string(offset) + "-";
  return "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
}

Result<ObjectInfo> InfoFromRead(const HttpResponse& resp, std::string_view path,
                                const VersionRule& rule) {
  ObjectInfo info;
  info.path = std::string(path);
  std::optional<uint64_t> size = StatedSize(resp);
  if (!size) {
    return Internal(std::string(path) + ": the answer states no object size (Content-Range '" +
                    resp.Header("content-range").substr(0, 64) + "', Content-Length '" +
                    resp.Header("content-length").substr(0, 24) + "')");
  }
  info.size = *size;
  info.version = rule(resp);
  info.mtime_ms = ParseHttpDate(resp.Header("last-modified")).value_or(0);
  return info;
}

Result<HttpResponse> OpenBody(HttpClient& client, HttpRequest req, std::string_view path,
                              uint64_t length, const VersionRule& rule, const InfoSink& on_info,
                              const ByteSink& sink, const std::string& what, bool* informed) {
  *informed = false;
  const std::function<Status(const HttpResponse&)> inform = [&](const HttpResponse& head) {
    *informed = true;
    ASSIGN_OR_RETURN(ObjectInfo info, InfoFromRead(head, path, rule));
    return on_info(info);
  };
  req.body_stream = BoundedStream(length, what, inform, sink);
  ASSIGN_OR_RETURN(HttpResponse resp, client.Send(req));
  if (resp.status >= 200 && resp.status < 300 && !*informed) {
    RETURN_IF_ERROR(inform(resp));  // an empty body: no piece told the metadata
  }
  return resp;
}

bool OpenNeedsStat(const Result<HttpResponse>& resp, bool informed) {
  if (informed) return false;
  if (!resp.ok()) return resp.status().code() == StatusCode::kUnavailable;
  return resp->status == 416;
}

Result<HttpResponse> StreamBody(HttpClient& client, HttpRequest req, uint64_t offset,
                                uint64_t length, std::string_view version, const VersionRule& rule,
                                const ByteSink& sink, const std::string& what) {
  const std::function<Status(const HttpResponse&)> check = [&](const HttpResponse& head) {
    return CheckServedRead(head, offset, version, rule, what);
  };
  req.body_stream = BoundedStream(length, what, check, sink);
  return client.Send(req);
}

}  // namespace unicache

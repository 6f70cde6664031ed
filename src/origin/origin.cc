#include "origin/origin.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "origin/azure_blob_origin.h"
#include "origin/http_origin.h"
#include "origin/posix_origin.h"
#include "origin/retrying_origin.h"
#include "origin/s3_origin.h"

namespace unicache {
namespace {

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

// Opens the backend for spec.uri without the retry layer.
Result<std::unique_ptr<Origin>> OpenBackend(const OriginSpec& spec) {
  const std::string& uri = spec.uri;
  auto in_context = [&](Result<std::unique_ptr<Origin>> r) -> Result<std::unique_ptr<Origin>> {
    if (r.ok()) return r;
    return r.status().WithContext("origin '" + spec.name + "'");
  };
  if (uri.starts_with("file://")) {
    std::string path = uri.substr(7);
    if (path.empty() || path.front() != '/') {
      return InvalidArgument("origin '" + spec.name + "': file URI must be absolute (file:///dir)");
    }
    return in_context(OpenPosixOrigin(path));
  }
  if (uri.starts_with("azure://")) return in_context(OpenAzureBlobOrigin(uri, ProcessEnv()));
  if (uri.starts_with("s3://")) return in_context(OpenS3Origin(uri, ProcessEnv()));
  if (uri.starts_with("http://") || uri.starts_with("https://")) {
    return in_context(OpenHttpOrigin(uri));
  }
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return in_context(OpenPosixOrigin(uri));
  std::string name = uri.substr(0, scheme);
  return InvalidArgument("origin '" + spec.name + "': unsupported scheme '" + name +
                         "' (supported: file, azure, s3, http, https)");
}

}  // namespace

Status Origin::Delete(std::string_view path) {
  return Unimplemented("the " + std::string(Scheme()) + " origin cannot delete " +
                       std::string(path) + ": it is read-only");
}

Result<ObjectInfo> Origin::Write(std::string_view path, std::span<const std::byte> data) {
  size_t done = 0;
  ByteSource source = [&](std::span<std::byte> dst) -> Result<size_t> {
    size_t n = std::min(dst.size(), data.size() - done);
    std::copy_n(data.data() + done, n, dst.data());
    done += n;
    return n;
  };
  return WriteStream(path, data.size(), source);
}

Result<uint64_t> Origin::ReadStream(std::string_view path, std::string_view version,
                                    uint64_t offset, uint64_t length, const ByteSink& sink) {
  constexpr uint64_t kPiece = 4ull << 20;
  std::vector<std::byte> buffer(std::min(length, kPiece));
  uint64_t delivered = 0;
  while (delivered < length) {
    std::span<std::byte> dst(buffer.data(), std::min<uint64_t>(buffer.size(), length - delivered));
    ASSIGN_OR_RETURN(size_t n, Read(path, version, offset + delivered, dst));
    if (n == 0) break;
    RETURN_IF_ERROR(sink(dst.first(n)));
    delivered += n;
    if (n < dst.size()) break;  // the end of the object
  }
  return delivered;
}

Result<uint64_t> Origin::OpenStream(std::string_view path, uint64_t length, const InfoSink& on_info,
                                    const ByteSink& sink) {
  ASSIGN_OR_RETURN(ObjectInfo info, Stat(path));
  RETURN_IF_ERROR(on_info(info));
  if (length == 0 || info.size == 0) return uint64_t{0};
  return ReadStream(path, info.version, 0, length, sink);
}

Result<OriginSpec> ParseOriginSpec(std::string_view text) {
  if (text.empty()) return InvalidArgument("empty --origin: expected NAME=URI or a directory");
  size_t eq = text.find('=');
  size_t scheme = text.find("://");
  OriginSpec spec;
  if (eq == std::string_view::npos || (scheme != std::string_view::npos && scheme < eq)) {
    spec.name = "local";
    spec.uri = std::string(text);
  } else {
    spec.name = std::string(text.substr(0, eq));
    spec.uri = std::string(text.substr(eq + 1));
  }
  if (!IsValidName(spec.name)) {
    return InvalidArgument("bad origin name '" + spec.name +
                           "': use 1-64 letters, digits, '-' or '_'");
  }
  if (spec.uri.empty()) return InvalidArgument("origin '" + spec.name + "' has an empty URI");
  return spec;
}

Result<std::unique_ptr<Origin>> OpenOrigin(const OriginSpec& spec, int max_concurrency) {
  auto backend = OpenBackend(spec);
  if (!backend.ok()) return backend.status();
  RetryOptions retry;
  retry.max_concurrency = max_concurrency;
  return WrapWithRetries(std::move(backend).value(), retry);
}

}  // namespace unicache

#include "server/s3/s3_multipart.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "common/text.h"
#include "server/objects/object_source.h"

namespace unicache {
namespace {

constexpr std::string_view kKeyObject = "key";
constexpr std::string_view kPartPrefix = "part-";

std::string UploadDir(std::string_view id) {
  return std::string(MultipartUploads::kPrefix) + std::string(id) + "/";
}

std::string NewUploadId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

bool MultipartUploads::ValidId(std::string_view id) {
  if (id.size() != 32) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string MultipartUploads::PartPath(std::string_view id, int number) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05d", number);
  return UploadDir(id) + std::string(kPartPrefix) + buf;
}

boost::asio::awaitable<Result<std::string>> MultipartUploads::Create(const std::string& bucket,
                                                                     const std::string& key) {
  const std::string id = NewUploadId();
  size_t sent = 0;
  const BodyRead read = [&](std::span<std::byte> dst) -> boost::asio::awaitable<Result<size_t>> {
    const size_t n = std::min(dst.size(), key.size() - sent);
    std::memcpy(dst.data(), key.data() + sent, n);
    sent += n;
    co_return n;
  };
  Result<ObjectInfo> written =
      co_await service_->Write(bucket, UploadDir(id) + std::string(kKeyObject), key.size(), read);
  if (!written.ok()) co_return written.status();
  co_return id;
}

boost::asio::awaitable<Result<std::string>> MultipartUploads::KeyOf(const std::string& bucket,
                                                                    const std::string& id) {
  Result<ObjectInfo> info =
      co_await service_->Stat(bucket, UploadDir(id) + std::string(kKeyObject), true);
  if (!info.ok()) co_return info.status();
  std::vector<ObjectSegment> whole;
  whole.push_back(ObjectSegment{bucket, *info, 0, info->size});
  ObjectSource source(service_, std::move(whole));
  std::string key(source.size(), '\0');
  Result<size_t> n = co_await source.Read(std::as_writable_bytes(std::span(key)));
  if (!n.ok()) co_return n.status();
  if (*n != key.size()) co_return Internal("the key of upload " + id + " is cut short");
  co_return key;
}

boost::asio::awaitable<Result<std::vector<ObjectInfo>>> MultipartUploads::ListAll(
    const std::string& bucket, const std::string& prefix) {
  std::vector<ObjectInfo> all;
  ListOptions options;
  options.prefix = prefix;
  do {
    Result<ListPage> page = co_await service_->List(bucket, options);
    if (!page.ok()) co_return page.status();
    for (ObjectInfo& o : page->objects) all.push_back(std::move(o));
    options.token = page->next_token;
  } while (!options.token.empty());
  co_return all;
}

boost::asio::awaitable<Result<std::vector<MultipartUploads::Part>>> MultipartUploads::Parts(
    const std::string& bucket, const std::string& id) {
  const std::string prefix = UploadDir(id) + std::string(kPartPrefix);
  Result<std::vector<ObjectInfo>> objects = co_await ListAll(bucket, prefix);
  if (!objects.ok()) co_return objects.status();
  std::vector<Part> parts;
  for (ObjectInfo& o : *objects) {
    std::optional<int> number = ParseDecimal<int>(std::string_view(o.path).substr(prefix.size()));
    if (!number || *number < 1 || *number > kMaxParts) continue;
    parts.push_back(Part{*number, std::move(o)});
  }
  std::sort(parts.begin(), parts.end(),
            [](const Part& a, const Part& b) { return a.number < b.number; });
  co_return parts;
}

boost::asio::awaitable<Result<std::vector<MultipartUploads::Upload>>> MultipartUploads::Uploads(
    const std::string& bucket, size_t limit) {
  Result<std::vector<ObjectInfo>> objects = co_await ListAll(bucket, std::string(kPrefix));
  if (!objects.ok()) co_return objects.status();
  std::vector<Upload> uploads;
  for (const ObjectInfo& o : *objects) {
    std::string_view rest = std::string_view(o.path).substr(kPrefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos || rest.substr(slash + 1) != kKeyObject) continue;
    const std::string id(rest.substr(0, slash));
    if (!ValidId(id)) continue;
    Result<std::string> key = co_await KeyOf(bucket, id);
    if (!key.ok()) continue;  // aborted or completed meanwhile
    uploads.push_back(Upload{id, *key, o.mtime_ms});
  }
  std::sort(uploads.begin(), uploads.end(), [](const Upload& a, const Upload& b) {
    return std::tie(a.key, a.id) < std::tie(b.key, b.id);
  });
  if (uploads.size() > limit) uploads.resize(limit);
  co_return uploads;
}

boost::asio::awaitable<Status> MultipartUploads::Remove(const std::string& bucket,
                                                        const std::string& id) {
  Result<std::vector<ObjectInfo>> objects = co_await ListAll(bucket, UploadDir(id));
  if (!objects.ok()) co_return objects.status();
  // The key last: an upload whose removal fails half-way is still listed, and can be aborted.
  std::stable_partition(objects->begin(), objects->end(), [&](const ObjectInfo& o) {
    return !o.path.ends_with("/" + std::string(kKeyObject));
  });
  for (const ObjectInfo& o : *objects) {
    Status st = co_await service_->Delete(bucket, o.path);
    if (!st.ok()) co_return st;
  }
  co_return Status::Ok();
}

}  // namespace unicache

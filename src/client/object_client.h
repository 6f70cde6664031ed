// ObjectClient: reads objects and listings from a unicache node over HTTP (the native API:
// /v1/objects, /v1/list). The CLI's get/ls/demo use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/http_client.h"
#include "common/object_info.h"
#include "common/status.h"

namespace unicache {

// Thread-safe (HttpClient pools connections).
class ObjectClient {
 public:
  // `node` is "HOST:PORT" of any node of the cluster.
  explicit ObjectClient(std::string node);

  // Returns size, version (ETag without quotes) and mtime of origin/path.
  Result<ObjectInfo> Head(const std::string& origin, const std::string& path);

  // Reads dst.size() bytes at `offset` of the object at `version` (If-Match) into dst; returns
  // the number of bytes read. PreconditionFailed when the object changed.
  Result<size_t> Read(const std::string& origin, const std::string& path,
                      const std::string& version, uint64_t offset, std::span<std::byte> dst);

  // Returns one page of the listing of origin/prefix.
  Result<ListPage> List(const std::string& origin, const ListOptions& options);

  // Returns the body of GET `path` (e.g. "/metrics") as text.
  Result<std::string> GetText(const std::string& path);

  const std::string& node() const { return node_; }

 private:
  std::string ObjectUrl(const std::string& origin, const std::string& path) const;

  std::string node_;
  HttpClient http_;
};

}  // namespace unicache

// ObjectSource: byte ranges of cached objects, one after another, read block by block through
// the ObjectService (so through the cache, the cluster and single-flight) as a BodyRead: the
// source of a copy, or of a multipart upload's parts joined into one object.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "server/objects/object_service.h"

namespace unicache {

// Bytes [first, first + length) of one version of an object.
struct ObjectSegment {
  std::string origin;
  ObjectInfo info;
  uint64_t first = 0;
  uint64_t length = 0;
};

// Not thread-safe: read by one coroutine. Borrows the service.
class ObjectSource {
 public:
  ObjectSource(ObjectService* service, std::vector<ObjectSegment> segments);

  // The bytes of all segments.
  uint64_t size() const { return size_; }

  // Reads the next bytes into `dst` (0 at the end). PreconditionFailed when an object changed
  // since its version was resolved; the service's errors otherwise.
  boost::asio::awaitable<Result<size_t>> Read(std::span<std::byte> dst);

 private:
  ObjectService* const service_;
  std::vector<ObjectSegment> segments_;
  uint64_t size_ = 0;
  size_t segment_ = 0;   // the segment being read
  uint64_t offset_ = 0;  // bytes of it read
};

}  // namespace unicache

// ObjectRoutes: the native HTTP front-end for objects: GET/HEAD /v1/objects/<origin>/<path>
// (Range, multipart/byteranges, conditional requests) and GET /v1/list/<origin>/<prefix>.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "server/http/http_server.h"
#include "server/http/request_target.h"
#include "server/objects/object_service.h"

namespace unicache {

// Thread-safe; borrows the service, which must outlive it.
class ObjectRoutes {
 public:
  // `readahead_blocks`: blocks fetched ahead of the one being sent, in parallel, on a miss.
  ObjectRoutes(ObjectService* service, size_t readahead_blocks);

  // Serves GET/HEAD of one object, or of byte ranges of it, under RFC 9110's conditional
  // requests: 304 and 412 from the version's ETag and Last-Modified, If-Range falling back to
  // the whole object. `overrides` replace the response headers of the same name (or are added):
  // the S3 endpoint's response-content-* parameters.
  boost::asio::awaitable<void> GetObject(const Request& req, ResponseWriter& writer,
                                         const std::string& origin, const std::string& path,
                                         const HttpHeaders& overrides = {});

  // Serves PUT of one object: write-through to the origin, the body streamed to it as it
  // arrives (a Content-Length is required: 411 without), blocks kept in the cache within the
  // service's budget.
  boost::asio::awaitable<void> PutObject(const Request& req, RequestBody& body,
                                         ResponseWriter& writer, const std::string& origin,
                                         const std::string& path);

  // Serves one page of a listing as JSON. Query: delimiter, max-keys (1..10000), token.
  boost::asio::awaitable<void> List(const RequestTarget& target, ResponseWriter& writer,
                                    const std::string& origin, const std::string& prefix);

 private:
  // Starts background fetches of blocks [from, to) that are not cached yet, as coroutines on
  // `loop`.
  void ReadAhead(const boost::asio::any_io_executor& loop, const std::string& origin,
                 const ObjectInfo& info, uint64_t from, uint64_t to);
  boost::asio::awaitable<void> ReadAheadOne(std::string origin, ObjectInfo info, uint64_t index);
  // Writes bytes [begin, end) of `info` block by block; `first`, when ok, is the block holding
  // `begin`, fetched already. Returns false once the response was cut short.
  boost::asio::awaitable<bool> WriteBytes(ResponseWriter& writer, const std::string& origin,
                                          const ObjectInfo& info, uint64_t begin, uint64_t end,
                                          Result<BlockRef> first, bool read_ahead, bool forwarded);
  boost::asio::awaitable<Result<BlockRef>> FetchBlock(const std::string& origin,
                                                      const ObjectInfo& info, uint64_t index,
                                                      bool forwarded);

  ObjectService* const service_;
  const size_t readahead_blocks_;
  std::atomic<size_t> readahead_inflight_{0};
};

}  // namespace unicache

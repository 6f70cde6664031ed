// Multipart uploads of the S3 endpoint, staged in the destination origin itself: an upload is
// the objects under ".unicache-uploads/<id>/" of its bucket (its key, and one object a part),
// so any node of the cluster can take its parts, list it, complete or abort it, and a node's
// restart loses nothing. Completing joins the parts into the object with one origin write
// (read through the cache, which kept the parts as they were written), then removes them.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/objects/object_service.h"

namespace unicache {

// Thread-safe; borrows the service.
class MultipartUploads {
 public:
  // The staging area's prefix in each bucket; listings through the S3 endpoint hide it.
  static constexpr std::string_view kPrefix = ".unicache-uploads/";
  static constexpr int kMaxParts = 10000;

  explicit MultipartUploads(ObjectService* service) : service_(service) {}

  static bool IsStaging(std::string_view path) { return path.starts_with(kPrefix); }
  // An upload id is 32 lower-case hex digits (it names a staging folder: nothing else passes).
  static bool ValidId(std::string_view id);
  // The staging object of part `number` (1..kMaxParts) of upload `id`.
  static std::string PartPath(std::string_view id, int number);

  // Starts an upload of `key`; returns its id.
  boost::asio::awaitable<Result<std::string>> Create(const std::string& bucket,
                                                     const std::string& key);
  // Returns the key upload `id` is for; NotFound when there is no such upload.
  boost::asio::awaitable<Result<std::string>> KeyOf(const std::string& bucket,
                                                    const std::string& id);

  struct Part {
    int number = 0;
    ObjectInfo info;
  };
  // The parts of upload `id` uploaded so far, by number.
  boost::asio::awaitable<Result<std::vector<Part>>> Parts(const std::string& bucket,
                                                          const std::string& id);

  struct Upload {
    std::string id;
    std::string key;
    int64_t initiated_ms = 0;
  };
  // The bucket's uploads under way (at most `limit`), by key then id.
  boost::asio::awaitable<Result<std::vector<Upload>>> Uploads(const std::string& bucket,
                                                              size_t limit);

  // Removes every staging object of upload `id`.
  boost::asio::awaitable<Status> Remove(const std::string& bucket, const std::string& id);

 private:
  // Every object under `prefix`, page after page.
  boost::asio::awaitable<Result<std::vector<ObjectInfo>>> ListAll(const std::string& bucket,
                                                                  const std::string& prefix);

  ObjectService* const service_;
};

}  // namespace unicache

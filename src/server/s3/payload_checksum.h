// The checksums S3 clients send with a body (x-amz-checksum-crc32, -crc32c, -sha1, -sha256):
// computed over the bytes as they pass, compared once the body is in.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace unicache {

// One checksum algorithm being computed. Not thread-safe.
class PayloadChecksum {
 public:
  // `header` names the algorithm as the x-amz-checksum-* header or trailer does
  // ("x-amz-checksum-crc32", any case). NotImplemented for an algorithm not built
  // (crc64nvme), InvalidArgument for a name that is none.
  static Result<std::unique_ptr<PayloadChecksum>> ForHeader(std::string_view header);
  virtual ~PayloadChecksum() = default;

  virtual void Update(std::string_view bytes) = 0;
  // Returns the base64 checksum of the bytes so far, as the header carries it.
  virtual std::string Base64() = 0;
  const std::string& header() const { return header_; }

  // Returns OK when `base64` is this checksum, else ChecksumMismatch naming the header.
  Status Check(std::string_view base64);

 protected:
  explicit PayloadChecksum(std::string header) : header_(std::move(header)) {}

 private:
  std::string header_;
};

}  // namespace unicache

// The body of an S3 upload as the origin is to get it: aws-chunked bodies decoded, and every
// body checked against what its request states (x-amz-content-sha256, Content-MD5,
// x-amz-checksum-*, chunk and trailer signatures). The checks finish before the last bytes
// are handed on, so a body that fails one fails the write and the object stays as it was.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "server/http/http_server.h"
#include "server/s3/aws_chunked.h"
#include "server/s3/payload_checksum.h"
#include "server/s3/s3_auth.h"
#include "server/s3/s3_error.h"

namespace unicache {

// Not thread-safe: used by the coroutine serving the request. Borrows the request and body.
class S3Body {
 public:
  S3Body(const Request& req, RequestBody& body) : req_(req), body_(body) {}

  // Reads what the request says of its body. MissingContentLength without a length (or, for
  // aws-chunked, x-amz-decoded-content-length), InvalidArgument/NotImplemented for checksums
  // that are malformed or not built.
  std::optional<S3Error> Init(const S3Caller& caller);

  // The body's length as the origin gets it (decoded).
  uint64_t size() const { return size_; }

  // Reads the next decoded bytes into `dst`; 0 at the end. An error fails the write; failure()
  // then says which S3 error to answer.
  boost::asio::awaitable<Result<size_t>> Read(std::span<std::byte> dst);

  const std::optional<S3Error>& failure() const { return failure_; }

 private:
  // Reads more of the raw body into in_; false at its end.
  boost::asio::awaitable<Result<bool>> Fill();
  // Runs the whole-body checks once every byte is in; sets failure_.
  Status CheckComplete();
  // Records the S3 error to answer; returns the Status that fails the write.
  Status Fail(int status, std::string code, std::string message);

  const Request& req_;
  RequestBody& body_;
  uint64_t size_ = 0;
  uint64_t produced_ = 0;
  std::unique_ptr<AwsChunkedDecoder> chunked_;
  std::vector<std::byte> in_;  // raw bytes read, not yet decoded: [in_pos_, in_end_)
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
  std::unique_ptr<Digest> sha256_;  // x-amz-content-sha256 to check
  std::string sha256_expected_;
  std::unique_ptr<Digest> md5_;                // Content-MD5 to check
  std::string md5_expected_;                   // raw
  std::unique_ptr<PayloadChecksum> checksum_;  // an x-amz-checksum-* header to check
  std::string checksum_expected_;
  bool checked_ = false;  // the whole-body checks ran
  std::optional<S3Error> failure_;
};

}  // namespace unicache

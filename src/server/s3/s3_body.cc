#include "server/s3/s3_body.h"

#include <algorithm>

#include "common/text.h"

namespace unicache {

namespace http = boost::beast::http;

namespace {

constexpr size_t kRawPiece = 256 * 1024;  // raw bytes read at a time for aws-chunked bodies

std::optional<std::string> HeaderValue(const Request& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  return std::string(it->value());
}

}  // namespace

std::optional<S3Error> S3Body::Init(const S3Caller& caller) {
  const bool streaming = caller.payload == S3Payload::kStreamingSigned ||
                         caller.payload == S3Payload::kStreamingUnsigned;
  std::unique_ptr<PayloadChecksum> trailer_checksum;
  if (std::optional<std::string> trailer = HeaderValue(req_, "x-amz-trailer")) {
    if (!streaming) {
      return S3Error{400, "InvalidRequest", "x-amz-trailer needs an aws-chunked body"};
    }
    Result<std::unique_ptr<PayloadChecksum>> c = PayloadChecksum::ForHeader(*trailer);
    if (!c.ok()) return S3ErrorFor(c.status());
    trailer_checksum = std::move(c).value();
  }
  if (streaming) {
    std::optional<uint64_t> decoded;
    if (std::optional<std::string> v = HeaderValue(req_, "x-amz-decoded-content-length")) {
      decoded = ParseDecimal<uint64_t>(*v);
    }
    if (!decoded) {
      return S3Error{411, "MissingContentLength",
                     "an aws-chunked upload needs x-amz-decoded-content-length"};
    }
    size_ = *decoded;
    chunked_ = std::make_unique<AwsChunkedDecoder>(caller.chunk_signing, size_,
                                                   std::move(trailer_checksum));
    in_.resize(kRawPiece);
  } else {
    std::optional<uint64_t> length = body_.streamed() ? body_.length() : req_.body().size();
    if (!length) {
      return S3Error{411, "MissingContentLength", "an upload needs a Content-Length"};
    }
    size_ = *length;
  }
  if (caller.payload == S3Payload::kSha256) {
    sha256_ = std::make_unique<Digest>(Digest::Kind::kSha256);
    sha256_expected_ = caller.payload_sha256;
  }
  if (std::optional<std::string> md5 = HeaderValue(req_, "content-md5")) {
    Result<std::string> raw = Base64Decode(TrimSpace(*md5));
    if (!raw.ok() || raw->size() != 16) {
      return S3Error{400, "InvalidDigest", "Content-MD5 must be the base64 of 16 bytes"};
    }
    md5_ = std::make_unique<Digest>(Digest::Kind::kMd5);
    md5_expected_ = *raw;
  }
  for (const auto& field : req_) {
    const std::string name = AsciiLower(field.name_string());
    if (!name.starts_with("x-amz-checksum-") || name == "x-amz-checksum-type") continue;
    Result<std::unique_ptr<PayloadChecksum>> c = PayloadChecksum::ForHeader(name);
    if (!c.ok()) return S3ErrorFor(c.status());
    checksum_ = std::move(c).value();
    checksum_expected_ = std::string(field.value());
  }
  return std::nullopt;
}

Status S3Body::Fail(int status, std::string code, std::string message) {
  Status st = InvalidArgument(message);
  failure_ = S3Error{status, std::move(code), std::move(message)};
  return st;
}

Status S3Body::CheckComplete() {
  if (sha256_ && HexOf(sha256_->Finish()) != sha256_expected_) {
    return Fail(400, "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  if (md5_ && md5_->Finish() != md5_expected_) {
    return Fail(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
  }
  if (checksum_) {
    if (Status st = checksum_->Check(checksum_expected_); !st.ok()) {
      return Fail(400, "BadDigest", st.message());
    }
  }
  return Status::Ok();
}

boost::asio::awaitable<Result<bool>> S3Body::Fill() {
  Result<size_t> n = co_await body_.Read(std::span(in_));
  if (!n.ok()) co_return n.status();
  in_pos_ = 0;
  in_end_ = *n;
  co_return *n > 0;
}

boost::asio::awaitable<Result<size_t>> S3Body::Read(std::span<std::byte> dst) {
  if (failure_) co_return InvalidArgument(failure_->message);
  dst = dst.first(static_cast<size_t>(std::min<uint64_t>(dst.size(), size_ - produced_)));
  size_t produced = 0;
  if (!chunked_) {
    while (produced < dst.size()) {
      Result<size_t> n = co_await body_.Read(dst.subspan(produced));
      if (!n.ok()) {
        if (n.status().code() == StatusCode::kDeadlineExceeded) {
          co_return Fail(400, "RequestTimeout", n.status().message());
        }
        co_return n.status();
      }
      if (*n == 0) break;
      produced += *n;
    }
  } else {
    // Decode until dst is full or the data ends; once it has, decode the rest of the body (the
    // final chunk, the trailer) so its signatures and checksum are checked before the last
    // bytes go on.
    while (!chunked_->done()) {
      if (in_pos_ == in_end_) {
        Result<bool> more = co_await Fill();
        if (!more.ok()) {
          if (more.status().code() == StatusCode::kDeadlineExceeded) {
            co_return Fail(400, "RequestTimeout", more.status().message());
          }
          co_return more.status();
        }
        if (!*more) {
          co_return Fail(400, "IncompleteBody",
                         "the aws-chunked body ended before its final chunk");
        }
      }
      Result<AwsChunkedDecoder::Progress> p = chunked_->Decode(
          std::span(in_).subspan(in_pos_, in_end_ - in_pos_), dst.subspan(produced));
      if (!p.ok()) {
        const bool signature = p.status().code() == StatusCode::kPermissionDenied;
        const bool digest = p.status().code() == StatusCode::kChecksumMismatch;
        co_return Fail(signature ? 403 : 400,
                       signature ? "SignatureDoesNotMatch"
                       : digest  ? "BadDigest"
                                 : "InvalidRequest",
                       p.status().message());
      }
      in_pos_ += p->consumed;
      produced += p->produced;
      if (produced == dst.size() && produced_ + produced < size_) break;
    }
  }
  const std::string_view bytes(reinterpret_cast<const char*>(dst.data()), produced);
  if (sha256_) sha256_->Update(bytes);
  if (md5_) md5_->Update(bytes);
  if (checksum_) checksum_->Update(bytes);
  produced_ += produced;
  if (produced_ == size_ && !checked_) {
    checked_ = true;
    if (Status st = CheckComplete(); !st.ok()) co_return st;
  }
  co_return produced;
}

}  // namespace unicache

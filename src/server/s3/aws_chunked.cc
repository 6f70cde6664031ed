#include "server/s3/aws_chunked.h"

#include <algorithm>
#include <cstring>

#include "common/text.h"
#include "origin/sigv4.h"

namespace unicache {
namespace {

// Longest chunk-size or trailer line taken: a size, a 64-hex signature and some slack.
constexpr size_t kMaxLine = 4096;
// SHA-256 of the empty string: the "previous headers" part of a chunk's string to sign.
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::optional<uint64_t> ParseHex(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

AwsChunkedDecoder::AwsChunkedDecoder(std::optional<ChunkSigning> signing, uint64_t decoded_length,
                                     std::unique_ptr<PayloadChecksum> trailer_checksum)
    : signing_(std::move(signing)),
      decoded_length_(decoded_length),
      trailer_checksum_(std::move(trailer_checksum)) {
  if (signing_) previous_signature_ = signing_->seed_signature;
}

std::string AwsChunkedDecoder::ChunkStringToSign(std::string_view data_hash) const {
  return "AWS4-HMAC-SHA256-PAYLOAD\n" + signing_->amz_date + "\n" + signing_->scope + "\n" +
         previous_signature_ + "\n" + std::string(kEmptySha256) + "\n" + std::string(data_hash);
}

Status AwsChunkedDecoder::OnSizeLine(std::string_view line) {
  std::string_view size_text = line;
  chunk_signature_.clear();
  if (size_t semi = line.find(';'); semi != std::string_view::npos) {
    size_text = line.substr(0, semi);
    std::string_view ext = line.substr(semi + 1);
    constexpr std::string_view kSig = "chunk-signature=";
    if (!ext.starts_with(kSig)) {
      return InvalidArgument("aws-chunked body: unknown chunk extension in '" +
                             std::string(line.substr(0, 80)) + "'");
    }
    chunk_signature_ = std::string(ext.substr(kSig.size()));
  }
  std::optional<uint64_t> size = ParseHex(size_text);
  if (!size) {
    return InvalidArgument("aws-chunked body: bad chunk size '" +
                           std::string(size_text.substr(0, 40)) + "'");
  }
  if (signing_ && chunk_signature_.empty()) {
    return PermissionDenied("aws-chunked body: a chunk has no chunk-signature in a signed stream");
  }
  if (*size > decoded_length_ - decoded_) {
    return InvalidArgument("aws-chunked body: more data than x-amz-decoded-content-length (" +
                           std::to_string(decoded_length_) + ")");
  }
  chunk_size_ = chunk_left_ = *size;
  if (*size == 0) {
    if (decoded_ != decoded_length_) {
      return InvalidArgument("aws-chunked body: " + std::to_string(decoded_) +
                             " data bytes where x-amz-decoded-content-length says " +
                             std::to_string(decoded_length_));
    }
    RETURN_IF_ERROR(VerifyChunk());
    state_ = State::kTrailer;
    return Status::Ok();
  }
  state_ = State::kData;
  return Status::Ok();
}

Status AwsChunkedDecoder::VerifyChunk() {
  if (!signing_) return Status::Ok();
  const std::string hash = HexOf(chunk_hash_.Finish());
  const std::string expected = SigV4Signature(signing_->signing_key, ChunkStringToSign(hash));
  if (expected != chunk_signature_) {
    return PermissionDenied("aws-chunked body: a chunk's signature does not match its bytes");
  }
  previous_signature_ = expected;
  return Status::Ok();
}

Status AwsChunkedDecoder::OnTrailerLine(std::string_view line) {
  if (!line.empty()) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgument("aws-chunked body: malformed trailer line");
    }
    const std::string name = AsciiLower(TrimSpace(line.substr(0, colon)));
    const std::string_view value = TrimSpace(line.substr(colon + 1));
    if (name == "x-amz-trailer-signature") {
      if (!signing_)
        return InvalidArgument("aws-chunked body: a trailer signature in an unsigned stream");
      const std::string to_sign = "AWS4-HMAC-SHA256-TRAILER\n" + signing_->amz_date + "\n" +
                                  signing_->scope + "\n" + previous_signature_ + "\n" +
                                  Sha256Hex(trailer_text_);
      if (SigV4Signature(signing_->signing_key, to_sign) != value) {
        return PermissionDenied("aws-chunked body: the trailer's signature does not match");
      }
      return Status::Ok();
    }
    trailer_text_ += name + ":" + std::string(value) + "\n";
    if (trailer_checksum_ && name == trailer_checksum_->header()) {
      RETURN_IF_ERROR(trailer_checksum_->Check(value));
      checksum_seen_ = true;
    }
    return Status::Ok();
  }
  if (trailer_checksum_ && !checksum_seen_) {
    return InvalidArgument("aws-chunked body: the trailer lacks the " +
                           trailer_checksum_->header() + " that x-amz-trailer announced");
  }
  state_ = State::kDone;
  return Status::Ok();
}

Result<AwsChunkedDecoder::Progress> AwsChunkedDecoder::Decode(std::span<const std::byte> in,
                                                              std::span<std::byte> out) {
  Progress p;
  auto gather_line = [&]() -> std::optional<std::string> {
    // Appends bytes of `in` to line_ up to a CRLF; returns the line when complete.
    while (p.consumed < in.size()) {
      const char c = static_cast<char>(in[p.consumed++]);
      line_.push_back(c);
      if (line_.size() >= 2 && line_.ends_with("\r\n")) {
        std::string line = line_.substr(0, line_.size() - 2);
        line_.clear();
        return line;
      }
      if (line_.size() > kMaxLine) return std::nullopt;
    }
    return std::nullopt;
  };
  while (true) {
    switch (state_) {
      case State::kFailed:
        return error_;
      case State::kDone:
        if (p.consumed < in.size()) {
          return Fail(InvalidArgument("aws-chunked body: bytes after the end of the body"));
        }
        return p;
      case State::kSizeLine:
      case State::kTrailer: {
        std::optional<std::string> line = gather_line();
        if (!line) {
          if (line_.size() > kMaxLine) {
            return Fail(InvalidArgument("aws-chunked body: a chunk header line is too long"));
          }
          return p;  // wants more input
        }
        Status st = state_ == State::kSizeLine ? OnSizeLine(*line) : OnTrailerLine(*line);
        if (!st.ok()) return Fail(st);
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>({chunk_left_, in.size() - p.consumed, out.size() - p.produced}));
        if (n == 0) return p;
        std::memcpy(out.data() + p.produced, in.data() + p.consumed, n);
        const std::string_view bytes(reinterpret_cast<const char*>(in.data() + p.consumed), n);
        if (signing_) chunk_hash_.Update(bytes);
        if (trailer_checksum_) trailer_checksum_->Update(bytes);
        p.consumed += n;
        p.produced += n;
        chunk_left_ -= n;
        decoded_ += n;
        if (chunk_left_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd: {
        std::optional<std::string> line = gather_line();
        if (!line) {
          if (line_.size() > 2)
            return Fail(InvalidArgument("aws-chunked body: chunk data overruns its size"));
          return p;
        }
        if (!line->empty()) {
          return Fail(InvalidArgument("aws-chunked body: chunk data overruns its size"));
        }
        if (Status st = VerifyChunk(); !st.ok()) return Fail(st);
        state_ = State::kSizeLine;
        break;
      }
    }
  }
}

}  // namespace unicache

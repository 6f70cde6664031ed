// The aws-chunked body encoding of S3 uploads (Content-Encoding: aws-chunked), decoded as it
// arrives. Each chunk is "HEX-SIZE[;chunk-signature=SIG]\r\n" DATA "\r\n"; a chunk of size 0
// ends the data, and trailer lines ("x-amz-checksum-crc32:...") and an empty line end the body.
// Signed streams (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) chain each chunk's signature
// to the one before it, from the request's own ("seed") signature; unsigned ones
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) carry a checksum in the trailer instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/crypto.h"
#include "common/status.h"
#include "server/s3/payload_checksum.h"

namespace unicache {

// What chunk signatures are checked against (SigV4 streaming).
struct ChunkSigning {
  std::string signing_key;     // raw, SigV4SigningKey()
  std::string amz_date;        // the request's x-amz-date
  std::string scope;           // the request's credential scope
  std::string seed_signature;  // the request's signature, hex
};

// Decodes one body. Not thread-safe.
class AwsChunkedDecoder {
 public:
  // `signing`: chunk signatures are required and checked; nullopt: chunks carry none.
  // `decoded_length`: x-amz-decoded-content-length, which the data must match exactly.
  // `trailer_checksum`: the checksum the trailer must carry (x-amz-trailer names it), or null.
  AwsChunkedDecoder(std::optional<ChunkSigning> signing, uint64_t decoded_length,
                    std::unique_ptr<PayloadChecksum> trailer_checksum = nullptr);

  // Decodes from the front of `in` into the front of `out`; returns how many bytes of `in` were
  // consumed and of `out` produced (one of them is exhausted, or the body ended). Every error
  // is final: a malformed body or a data length off the stated one is InvalidArgument, a chunk
  // or trailer signature that does not verify PermissionDenied, a checksum ChecksumMismatch.
  struct Progress {
    size_t consumed = 0;
    size_t produced = 0;
  };
  Result<Progress> Decode(std::span<const std::byte> in, std::span<std::byte> out);

  // True once the whole body, trailer included, was decoded and verified.
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailer, kDone, kFailed };
  Status Fail(Status error) {
    state_ = State::kFailed;
    error_ = error;
    return error;
  }
  // Handles a complete chunk-size line (without its CRLF).
  Status OnSizeLine(std::string_view line);
  // Checks the chunk just read against its signature.
  Status VerifyChunk();
  // Handles a complete trailer line (empty: the end of the body).
  Status OnTrailerLine(std::string_view line);
  std::string ChunkStringToSign(std::string_view data_hash) const;

  std::optional<ChunkSigning> signing_;
  const uint64_t decoded_length_;
  std::unique_ptr<PayloadChecksum> trailer_checksum_;
  State state_ = State::kSizeLine;
  Status error_;
  std::string line_;             // the line being gathered
  uint64_t chunk_left_ = 0;      // data bytes of the current chunk still to come
  uint64_t chunk_size_ = 0;      // the current chunk's size
  uint64_t decoded_ = 0;         // data bytes produced so far
  std::string chunk_signature_;  // the current chunk's stated signature
  std::string previous_signature_;
  Digest chunk_hash_{Digest::Kind::kSha256};
  bool checksum_seen_ = false;  // the trailer carried the expected checksum
  std::string trailer_text_;    // trailer lines as signed ("name:value\n" each)
};

}  // namespace unicache

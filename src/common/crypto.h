// Small cryptographic helpers for request signing (S3 SigV4, Azure Shared Key), over OpenSSL.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace unicache {

// Returns the raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

// Returns the lower-case hex SHA-256 digest of `data`.
std::string Sha256Hex(std::string_view data);

// Returns the lower-case hex form of raw bytes.
std::string HexOf(std::string_view bytes);

// Returns standard (padded) base64 of `bytes`.
std::string Base64Encode(std::string_view bytes);

// Decodes standard base64 (whitespace not allowed). InvalidArgument on malformed input; the
// message never echoes the input, which is usually a secret.
Result<std::string> Base64Decode(std::string_view text);

// A digest computed piece by piece, for bodies that are never held whole. Not thread-safe.
class Digest {
 public:
  enum class Kind { kSha256, kSha1, kMd5 };
  explicit Digest(Kind kind);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void Update(std::string_view bytes);
  // Returns the raw digest; the digest starts over.
  std::string Finish();

 private:
  struct Context;
  Kind kind_;
  std::unique_ptr<Context> context_;
};

}  // namespace unicache

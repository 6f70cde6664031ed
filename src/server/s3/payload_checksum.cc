#include "server/s3/payload_checksum.h"

#include <zlib.h>

#include <array>

#include "common/crypto.h"
#include "common/text.h"

namespace unicache {
namespace {

std::string BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return out;
}

class Crc32 final : public PayloadChecksum {
 public:
  explicit Crc32(std::string header) : PayloadChecksum(std::move(header)) {}
  void Update(std::string_view bytes) override {
    crc_ = crc32_z(crc_, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
  }
  std::string Base64() override { return Base64Encode(BigEndian32(static_cast<uint32_t>(crc_))); }

 private:
  uLong crc_ = crc32_z(0, nullptr, 0);
};

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, one table lookup a byte.
class Crc32c final : public PayloadChecksum {
 public:
  explicit Crc32c(std::string header) : PayloadChecksum(std::move(header)) {}
  void Update(std::string_view bytes) override {
    static const std::array<uint32_t, 256> kTable = [] {
      std::array<uint32_t, 256> t{};
      for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
        t[i] = c;
      }
      return t;
    }();
    for (char ch : bytes) crc_ = kTable[(crc_ ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc_ >> 8);
  }
  std::string Base64() override { return Base64Encode(BigEndian32(~crc_)); }

 private:
  uint32_t crc_ = 0xffffffffu;
};

class Hashed final : public PayloadChecksum {
 public:
  Hashed(std::string header, Digest::Kind kind)
      : PayloadChecksum(std::move(header)), digest_(kind) {}
  void Update(std::string_view bytes) override { digest_.Update(bytes); }
  std::string Base64() override { return Base64Encode(digest_.Finish()); }

 private:
  Digest digest_;
};

}  // namespace

Result<std::unique_ptr<PayloadChecksum>> PayloadChecksum::ForHeader(std::string_view header) {
  std::string name = AsciiLower(TrimSpace(header));
  constexpr std::string_view kPrefix = "x-amz-checksum-";
  if (!name.starts_with(kPrefix)) {
    return InvalidArgument("'" + name + "' is not an x-amz-checksum-* header");
  }
  const std::string algorithm = name.substr(kPrefix.size());
  if (algorithm == "crc32") return std::unique_ptr<PayloadChecksum>(new Crc32(name));
  if (algorithm == "crc32c") return std::unique_ptr<PayloadChecksum>(new Crc32c(name));
  if (algorithm == "sha1")
    return std::unique_ptr<PayloadChecksum>(new Hashed(name, Digest::Kind::kSha1));
  if (algorithm == "sha256") {
    return std::unique_ptr<PayloadChecksum>(new Hashed(name, Digest::Kind::kSha256));
  }
  return Unimplemented("checksum algorithm '" + algorithm +
                       "' is not supported: use CRC32, CRC32C, SHA1 or SHA256");
}

Status PayloadChecksum::Check(std::string_view base64) {
  std::string computed = Base64();
  if (TrimSpace(base64) == computed) return Status::Ok();
  return ChecksumMismatch("the body's " + header_ + " does not match its bytes (computed " +
                          computed + ")");
}

}  // namespace unicache

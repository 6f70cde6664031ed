#include "common/hash.h"

#include <xxhash.h>

#include <cstring>

namespace unicache {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendHex64(uint64_t v, std::string* out) {
  for (int shift = 60; shift >= 0; shift -= 4) out->push_back(kHexDigits[(v >> shift) & 0xf]);
}

}  // namespace

std::string Key128::Hex() const {
  std::string s;
  s.reserve(32);
  AppendHex64(hi, &s);
  AppendHex64(lo, &s);
  return s;
}

Result<Key128> Key128::FromHex(std::string_view hex) {
  if (hex.size() != 32) return InvalidArgument("key must be 32 hex digits");
  Key128 k;
  for (size_t i = 0; i < 32; ++i) {
    int v = HexValue(hex[i]);
    if (v < 0) return InvalidArgument("key has a non-hex digit");
    uint64_t& half = i < 16 ? k.hi : k.lo;
    half = (half << 4) | static_cast<uint64_t>(v);
  }
  return k;
}

Key128 HashFields(std::initializer_list<std::string_view> fields) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  for (std::string_view f : fields) {
    uint64_t len = f.size();
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
    XXH3_128bits_update(state, le, sizeof le);
    XXH3_128bits_update(state, f.data(), f.size());
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return Key128{h.high64, h.low64};
}

Key128 BlockKey(std::string_view origin, std::string_view path, std::string_view version,
                uint64_t index) {
  std::string idx = std::to_string(index);
  return HashFields({"block/v1", origin, path, version, idx});
}

uint64_t Checksum64(std::span<const std::byte> data) {
  return XXH3_64bits(data.data(), data.size());
}
uint64_t Checksum64(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

uint64_t Hash64(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

std::string ToHex(std::span<const std::byte> data) {
  std::string s;
  s.reserve(data.size() * 2);
  for (std::byte b : data) {
    auto v = static_cast<unsigned>(b);
    s.push_back(kHexDigits[v >> 4]);
    s.push_back(kHexDigits[v & 0xf]);
  }
  return s;
}

Result<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return InvalidArgument("hex string has an odd length");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int a = HexValue(hex[2 * i]);
    int b = HexValue(hex[2 * i + 1]);
    if (a < 0 || b < 0) return InvalidArgument("hex string has a non-hex digit");
    out[i] = static_cast<char>((a << 4) | b);
  }
  return out;
}

}  // namespace unicache

// Hashing: 128-bit keys for blocks and 64-bit checksums, both XXH3.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace unicache {

// A 128-bit key (block key, KV key digest). Value type; thread-compatible.
struct Key128 {
  uint64_t hi = 0;
  uint64_t lo = 0;

  // Returns 32 lower-case hex digits, high half first.
  std::string Hex() const;
  // Parses the form Hex() prints.
  static Result<Key128> FromHex(std::string_view hex);

  friend bool operator==(const Key128&, const Key128&) = default;
  friend auto operator<=>(const Key128&, const Key128&) = default;
};

// Hashes a sequence of fields into a Key128. Each field is length-prefixed, so ("ab","c") and
// ("a","bc") hash differently.
Key128 HashFields(std::initializer_list<std::string_view> fields);

// Returns the key of block `index` of the object `path` at `version` in origin `origin`.
Key128 BlockKey(std::string_view origin, std::string_view path, std::string_view version,
                uint64_t index);

// Returns the 64-bit XXH3 checksum of `data`.
uint64_t Checksum64(std::span<const std::byte> data);
uint64_t Checksum64(std::string_view data);

// Returns the 64-bit XXH3 hash of `data` with `seed` (rendezvous hashing, sharding).
uint64_t Hash64(std::string_view data, uint64_t seed = 0);

// Returns lower-case hex of `data`; parses it back.
std::string ToHex(std::span<const std::byte> data);
Result<std::string> FromHex(std::string_view hex);

}  // namespace unicache

template <>
struct std::hash<unicache::Key128> {
  size_t operator()(const unicache::Key128& k) const noexcept {
    return k.lo ^ (k.hi * 0x9e3779b97f4a7c15ULL);
  }
};

// Helpers shared by the store's tests: a temporary directory and deterministic blocks.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "common/hash.h"
#include "store/block.h"

namespace unicache::testing {

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "unicache-store-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Returns the test key numbered `i` (spread over the fan-out directories).
inline Key128 TestKey(uint64_t i) { return HashFields({"test-block", std::to_string(i)}); }

// Returns a block of `size` bytes whose contents depend on `seed`.
inline BlockRef TestBlock(size_t size, uint64_t seed) {
  std::shared_ptr<Block> b = Block::Allocate(size).value();
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (std::byte& c : b->mutable_bytes()) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<std::byte>(x);
  }
  return b;
}

// Returns true when `a` and `b` hold the same bytes.
inline bool SameBytes(const BlockRef& a, const BlockRef& b) {
  return a->size() == b->size() && std::memcmp(a->data(), b->data(), a->size()) == 0;
}

}  // namespace unicache::testing

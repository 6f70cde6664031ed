// Block: an immutable run of bytes held by the store and shared with readers.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "common/huge_pages.h"
#include "common/status.h"

namespace unicache {

// A fixed-size byte buffer. Filled once by its creator through mutable_bytes(), then shared as
// a BlockRef (const) and never changed again. Thread-safe once published as a BlockRef.
class Block {
 public:
  // Returns an uninitialized block of `size` bytes; blocks of 2 MiB and more sit in huge pages
  // (common/huge_pages.h), since the thread that fills a block is rarely the one that sends it.
  // ResourceExhausted when the memory cannot be had.
  static Result<std::shared_ptr<Block>> Allocate(size_t size);

  std::span<std::byte> mutable_bytes() { return {data_.get(), size_}; }
  std::span<const std::byte> bytes() const { return {data_.get(), size_}; }
  const std::byte* data() const { return data_.get(); }
  size_t size() const { return size_; }

  // Shrinks the visible size to `size` (REQUIRES: size <= capacity), e.g. after a short read of
  // the last block of an object.
  void Truncate(size_t size);

 private:
  Block(LargeBuffer data, size_t size) : data_(std::move(data)), size_(size) {}
  LargeBuffer data_;
  size_t size_;
};

using BlockRef = std::shared_ptr<const Block>;

}  // namespace unicache

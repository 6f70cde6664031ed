#include "store/block.h"

#include <cassert>

namespace unicache {

Result<std::shared_ptr<Block>> Block::Allocate(size_t size) {
  LargeBuffer data = AllocateLargeBuffer(size);
  if (data == nullptr) {
    return ResourceExhausted("cannot allocate a block of " + std::to_string(size) + " bytes")
        .WithDetail(StatusDetail::kOverloaded);
  }
  return std::shared_ptr<Block>(new Block(std::move(data), size));
}

void Block::Truncate(size_t size) {
  assert(size <= size_);
  size_ = size;
}

}  // namespace unicache

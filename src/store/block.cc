#include "store/block.h"

#include <cassert>

namespace unicache {

std::shared_ptr<Block> Block::Allocate(size_t size) {
  return std::shared_ptr<Block>(new Block(AllocateLargeBuffer(size), size));
}

void Block::Truncate(size_t size) {
  assert(size <= size_);
  size_ = size;
}

}  // namespace unicache

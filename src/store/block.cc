#include "store/block.h"

#include <cassert>

namespace unicache {

std::shared_ptr<Block> Block::Allocate(size_t size) {
  // new[] without () leaves the bytes uninitialized: the caller fills them.
  return std::shared_ptr<Block>(new Block(std::unique_ptr<std::byte[]>(new std::byte[size]), size));
}

void Block::Truncate(size_t size) {
  assert(size <= size_);
  size_ = size;
}

}  // namespace unicache

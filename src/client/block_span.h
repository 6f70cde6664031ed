// How a read of a byte range splits into blocks, for the direct read path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace unicache {

// One block's share of a read: bytes [object_offset, object_offset + length) of the object,
// which belong to block `index` and go to dst[dst_offset...].
struct BlockSpan {
  uint64_t index = 0;
  uint64_t object_offset = 0;
  size_t length = 0;
  size_t dst_offset = 0;
};

// Splits [offset, offset + length) of an object of `object_size` bytes into per-block spans,
// clamped to the object's end. Empty when offset >= object_size or length == 0.
// REQUIRES: block_size > 0.
std::vector<BlockSpan> SplitBlocks(uint64_t offset, size_t length, uint64_t object_size,
                                   uint64_t block_size);

}  // namespace unicache

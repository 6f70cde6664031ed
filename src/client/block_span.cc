#include "client/block_span.h"

#include <algorithm>

namespace unicache {

std::vector<BlockSpan> SplitBlocks(uint64_t offset, size_t length, uint64_t object_size,
                                   uint64_t block_size) {
  std::vector<BlockSpan> spans;
  if (offset >= object_size || length == 0) return spans;
  uint64_t end = std::min<uint64_t>(object_size, offset + length);
  for (uint64_t pos = offset; pos < end;) {
    uint64_t index = pos / block_size;
    uint64_t block_end = std::min(end, (index + 1) * block_size);
    spans.push_back(
        {index, pos, static_cast<size_t>(block_end - pos), static_cast<size_t>(pos - offset)});
    pos = block_end;
  }
  return spans;
}

}  // namespace unicache

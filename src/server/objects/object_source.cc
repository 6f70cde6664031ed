#include "server/objects/object_source.h"

#include <algorithm>
#include <cstring>

namespace unicache {

ObjectSource::ObjectSource(ObjectService* service, std::vector<ObjectSegment> segments)
    : service_(service), segments_(std::move(segments)) {
  for (const ObjectSegment& s : segments_) size_ += s.length;
}

boost::asio::awaitable<Result<size_t>> ObjectSource::Read(std::span<std::byte> dst) {
  size_t filled = 0;
  const uint64_t bs = service_->block_size();
  while (filled < dst.size() && segment_ < segments_.size()) {
    const ObjectSegment& s = segments_[segment_];
    if (offset_ == s.length) {
      ++segment_;
      offset_ = 0;
      continue;
    }
    const uint64_t pos = s.first + offset_;
    const uint64_t index = pos / bs;
    BlockRef block = service_->GetBlockIfInRam(s.origin, s.info, index);
    if (!block) {
      Result<BlockRef> fetched = co_await service_->GetBlock(s.origin, s.info, index);
      if (!fetched.ok()) co_return fetched.status();
      block = std::move(fetched).value();
    }
    const uint64_t in_block = pos - index * bs;
    if (block->size() <= in_block) {
      co_return Internal("block " + std::to_string(index) + " of " + s.info.path +
                         " is shorter than the object says");
    }
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>({dst.size() - filled, s.length - offset_, block->size() - in_block}));
    std::memcpy(dst.data() + filled, block->bytes().data() + in_block, n);
    filled += n;
    offset_ += n;
  }
  co_return filled;
}

}  // namespace unicache

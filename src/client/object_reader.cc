#include "client/object_reader.h"

#include <unistd.h>
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "client/cluster_client.h"

namespace unicache {
namespace {

// One prefetched block, filled by a pool task. Shared between the reader and the task, so a
// reader may go away while its prefetches still run. Thread-safe through `mu`.
struct Prefetch {
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;           // guarded by mu
  Status status;                // guarded by mu
  std::vector<std::byte> data;  // written by the task before ready; read after
  std::atomic<bool> cancelled{false};
};

// Not thread-safe (one reader per open file); its prefetch tasks synchronize through Prefetch.
class ObjectReaderImpl : public ObjectReader {
 public:
  ObjectReaderImpl(ClusterClient* client, std::string origin, ObjectStat object)
      : client_(client),
        origin_(std::move(origin)),
        object_(std::move(object)),
        block_size_(client->block_size()) {}

  ~ObjectReaderImpl() override {
    for (auto& [index, p] : cache_) p->cancelled.store(true);
  }

  const ObjectStat& stat() const override { return object_; }

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> dst) override {
    if (offset >= object_.size || dst.empty()) return size_t{0};
    if (pid_ != ::getpid()) {
      // A forked child: the prefetches were the parent's, and their tasks never run here.
      cache_.clear();
      pid_ = ::getpid();
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(dst.size(), object_.size - offset));
    uint64_t end = offset + n;
    // Two reads that continue each other make a sequential reader; any jump resets it.
    bool sequential = have_last_ && offset == last_end_;
    have_last_ = true;
    last_end_ = end;
    DropBefore(sequential ? offset / block_size_ : UINT64_MAX);
    // The window starts at the block holding `end`: small reads then take whole blocks from
    // the cache instead of one request each.
    if (sequential) Prefetch(end / block_size_);

    uint64_t pos = offset;
    while (pos < end) {
      uint64_t index = pos / block_size_;
      auto it = cache_.find(index);
      if (it == cache_.end()) {
        // Read the run of uncached blocks straight into dst, in parallel.
        uint64_t run_end = std::min(end, (index + 1) * block_size_);
        while (run_end < end && !cache_.count(run_end / block_size_)) {
          run_end = std::min(end, run_end + block_size_);
        }
        auto part = dst.subspan(pos - offset, run_end - pos);
        ASSIGN_OR_RETURN(size_t got, client_->Read(origin_, object_, pos, part));
        if (got != part.size()) return Unavailable("short read of " + object_.path);
        pos = run_end;
        continue;
      }
      std::shared_ptr<struct Prefetch> p = it->second;
      {
        std::unique_lock lock(p->mu);
        p->cv.wait(lock, [&] { return p->ready; });
      }
      uint64_t block_start = index * block_size_;
      uint64_t take_end = std::min(end, block_start + p->data.size());
      if (!p->status.ok() || take_end <= pos) {
        cache_.erase(it);  // a failed prefetch: read directly (the error, if real, shows there)
        auto part = dst.subspan(pos - offset, std::min(end, block_start + block_size_) - pos);
        ASSIGN_OR_RETURN(size_t got, client_->Read(origin_, object_, pos, part));
        if (got != part.size()) return Unavailable("short read of " + object_.path);
        pos += got;
        continue;
      }
      std::memcpy(dst.data() + (pos - offset), p->data.data() + (pos - block_start),
                  take_end - pos);
      pos = take_end;
    }
    return n;
  }

 private:
  // Drops cached blocks before `first` (the reader moved past them); all when UINT64_MAX.
  void DropBefore(uint64_t first) {
    for (auto it = cache_.begin(); it != cache_.end() && it->first < first;) {
      it->second->cancelled.store(true);
      it = cache_.erase(it);
    }
  }

  // Starts prefetches of the blocks [first, first + readahead_blocks) not yet cached.
  void Prefetch(uint64_t first) {
    size_t window = client_->options().readahead_blocks;
    uint64_t blocks = (object_.size + block_size_ - 1) / block_size_;
    for (uint64_t index = first; index < std::min(blocks, first + window); ++index) {
      if (cache_.count(index)) continue;
      auto p = std::make_shared<struct Prefetch>();
      cache_[index] = p;
      uint64_t start = index * block_size_;
      size_t length = static_cast<size_t>(std::min<uint64_t>(block_size_, object_.size - start));
      client_->pool()->Submit(
          [client = client_, origin = origin_, object = object_, p, start, length] {
            Status st = Status::Ok();
            if (!p->cancelled.load()) {
              p->data.resize(length);
              Result<size_t> got = client->Read(origin, object, start, p->data);
              if (!got.ok()) {
                st = got.status();
              } else if (*got != length) {
                st = Unavailable("short prefetch");
              }
            } else {
              st = Unavailable("cancelled");
            }
            std::lock_guard lock(p->mu);
            p->status = st;
            p->ready = true;
            p->cv.notify_all();
          });
    }
  }

  ClusterClient* const client_;
  const std::string origin_;
  const ObjectStat object_;
  const uint64_t block_size_;
  int pid_ = ::getpid();  // the process whose pool runs the prefetches in cache_
  bool have_last_ = false;
  uint64_t last_end_ = 0;
  std::map<uint64_t, std::shared_ptr<struct Prefetch>> cache_;  // block index -> prefetch
};

}  // namespace

std::unique_ptr<ObjectReader> NewObjectReader(ClusterClient* client, std::string origin,
                                              ObjectStat object) {
  return std::make_unique<ObjectReaderImpl>(client, std::move(origin), std::move(object));
}

}  // namespace unicache

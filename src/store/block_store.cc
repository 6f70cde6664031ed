#include "store/block_store.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <optional>
#include <thread>
#include <utility>

#include "store/ram_tier.h"
#include "store/ssd_tier.h"
#include "store/write_queue.h"

namespace unicache {
namespace {

// The two-tier store. Data flow: Put() -> RAM tier + write queue -> writer thread -> SSD tier;
// Get() -> RAM tier, else write queue, else SSD tier (then promoted to RAM).
//
// Locks: RamTier, SsdTier and WriteQueue each have one mutex, held only for in-memory index and
// policy updates, never across file I/O, and never two at a time: every method here takes them
// one after another, so there is no lock order to get wrong. The writer thread holds none of
// them while it writes a file. Thread-safe.
class TieredBlockStore final : public BlockStore {
 public:
  TieredBlockStore(const StoreOptions& options, std::unique_ptr<SsdTier> ssd, Gauge* ram_gauge,
                   Counter* ram_evictions)
      : ram_(options.ram_bytes, ram_gauge, ram_evictions),
        ssd_(std::move(ssd)),
        queue_(options.write_queue_blocks, options.write_queue_bytes),
        writer_([this] { WriterLoop(); }) {}

  ~TieredBlockStore() override {
    queue_.Stop();
    writer_.join();
  }

  Result<BlockRef> Get(const Key128& key, Tier* tier) override {
    if (BlockRef b = GetIfInRam(key)) {
      if (tier != nullptr) *tier = Tier::kRam;
      return b;
    }
    Result<BlockRef> b = ssd_->Read(key);
    if (!b.ok()) return b.status();
    if ((*b)->size() <= ram_.capacity()) ram_.Insert(key, *b);
    if (tier != nullptr) *tier = Tier::kSsd;
    return b;
  }

  BlockRef GetIfInRam(const Key128& key) override {
    if (BlockRef b = ram_.Lookup(key)) return b;
    // Evicted from RAM (or too big for it) before the writer got to it.
    BlockRef b = queue_.Find(key);
    if (b != nullptr && b->size() <= ram_.capacity()) ram_.Insert(key, b);
    return b;
  }

  bool Contains(const Key128& key) const override {
    return ram_.Contains(key) || queue_.Find(key) != nullptr || ssd_->Contains(key);
  }

  void Put(const Key128& key, BlockRef block) override {
    if (block == nullptr || ssd_->Contains(key)) return;
    if (block->size() <= ram_.capacity()) ram_.Insert(key, block);
    // Also when RAM had the key: a write dropped earlier on a full queue gets another chance.
    if (ssd_->Fits(block->size())) queue_.Push(key, std::move(block));
  }

  void Erase(const Key128& key) override {
    queue_.Cancel(key);  // before the SSD: see WriterLoop()
    ssd_->Erase(key);
    ram_.Erase(key);
  }

  void Flush() override { queue_.Flush(); }

  StoreStats Stats() const override {
    StoreStats s;
    s.ram_bytes = ram_.bytes();
    s.ram_capacity = ram_.capacity();
    s.ram_blocks = ram_.blocks();
    s.ssd_bytes = ssd_->bytes();
    s.ssd_capacity = ssd_->capacity();
    s.ssd_blocks = ssd_->blocks();
    s.ram_evictions = ram_.evictions();
    s.ssd_evictions = ssd_->evictions();
    s.checksum_failures = ssd_->checksum_failures();
    s.recovered_blocks = ssd_->recovered_blocks();
    s.pending_writes = queue_.size();
    s.dropped_writes = queue_.dropped();
    s.write_errors = write_errors_.load(std::memory_order_relaxed);
    s.discarded_files = ssd_->discarded_files();
    return s;
  }

 private:
  // Writes queued blocks until the queue is stopped and drained. A block erased while its file
  // was being written is deleted again here: Erase() cancels the queue entry first, so either
  // Done() sees the cancel or Erase() finds the indexed file.
  void WriterLoop() {
    while (std::optional<WriteQueue::Item> item = queue_.Pop()) {
      Status st = ssd_->Write(item->key, *item->block);
      if (!st.ok()) {
        write_errors_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("block store: SSD write of {} failed: {}", item->key.Hex(), st.ToString());
      }
      if (!queue_.Done(*item) && st.ok()) ssd_->Erase(item->key);
    }
  }

  RamTier ram_;
  std::unique_ptr<SsdTier> ssd_;
  WriteQueue queue_;
  std::atomic<uint64_t> write_errors_{0};
  std::thread writer_;  // last: starts after everything it uses is built
};

}  // namespace

const char* TierName(Tier tier) { return tier == Tier::kRam ? "ram" : "ssd"; }

Result<std::unique_ptr<BlockStore>> BlockStore::Open(const StoreOptions& options) {
  Gauge* gauges[2] = {nullptr, nullptr};
  Counter* evictions[2] = {nullptr, nullptr};
  if (MetricsRegistry* m = options.metrics; m != nullptr) {
    const uint64_t capacity[2] = {options.ram_bytes, options.ssd_bytes};
    for (Tier t : {Tier::kRam, Tier::kSsd}) {
      int i = static_cast<int>(t);
      Labels labels = {{"tier", TierName(t)}};
      gauges[i] = &m->GetGauge("unicache_tier_bytes", labels, "Bytes held by each store tier.");
      evictions[i] = &m->GetCounter("unicache_evictions_total", labels,
                                    "Blocks evicted from each store tier.");
      m->GetGauge("unicache_tier_capacity_bytes", labels, "Capacity of each store tier in bytes.")
          .Set(static_cast<int64_t>(capacity[i]));
    }
  }
  SsdTierOptions ssd_options;
  ssd_options.dir = options.dir;
  ssd_options.capacity = options.ssd_bytes;
  ssd_options.sync_writes = options.sync_writes;
  ssd_options.bytes_gauge = gauges[1];
  ssd_options.evictions = evictions[1];
  ASSIGN_OR_RETURN(std::unique_ptr<SsdTier> ssd, SsdTier::Open(ssd_options));
  if (ssd->recovered_blocks() > 0 || ssd->discarded_files() > 0) {
    spdlog::info("block store: recovered {} blocks ({} bytes) from {}, discarded {} files",
                 ssd->recovered_blocks(), ssd->bytes(), options.dir, ssd->discarded_files());
  }
  return std::unique_ptr<BlockStore>(
      new TieredBlockStore(options, std::move(ssd), gauges[0], evictions[0]));
}

}  // namespace unicache

#include "server/objects/object_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "server/objects/await_flight.h"
#include "server/objects/upload_pipe.h"
#include "server/work/run_on.h"

namespace unicache {
namespace {

// Runs streaming at once per node: a run holds one origin stream and one origin thread.
constexpr int kMaxRuns = 8;

}  // namespace

size_t QueueLengthFor(size_t threads) { return std::max<size_t>(1024, 64 * threads); }

// One run's blocks in flight, in order: each claim is finished exactly once, by Publish() as its
// bytes come in or by FailRest(). Whatever is unpublished when it is destroyed finishes with an
// error, so no waiter is left hanging.
struct ObjectService::Run {
  std::vector<BlockFlights::Claim> claims;
  size_t done = 0;

  // The store key of the block Publish() takes next (computed when the run was claimed).
  const Key128& NextKey() const { return claims[done].key(); }

  void Publish(Result<BlockRef> block) { claims[done++].Finish(std::move(block)); }
  void FailRest(const Status& st) {
    while (done < claims.size()) Publish(st);
  }
  ~Run() { FailRest(Unavailable("node stopping before the block was read")); }
};

// Cuts a run's stream of bytes into its blocks (from `index` on), putting each in the store and
// publishing it as soon as its last byte is in. Bytes past the run's last block mean the object
// grew (ReadStream asked for the run's bytes only) or, for an open run, that the rest is cached.
class ObjectService::RunFill {
 public:
  RunFill(BlockStore* store, Counter* bytes, const ObjectInfo& info, uint64_t block_size,
          uint64_t index, Run& run)
      : store_(store),
        bytes_(bytes),
        info_(info),
        block_size_(block_size),
        run_(run),
        start_(index * block_size),
        current_(index),
        end_(std::min(info.size, (index + run.claims.size()) * block_size)) {}

  // The run's bytes: from the start of its first block to the end of its last.
  uint64_t offset() const { return start_; }
  uint64_t length() const { return end_ - start_; }

  // True when every block of the run is published.
  bool done() const { return current_ * block_size_ >= end_; }

  Status Add(std::span<const std::byte> piece) {
    while (!piece.empty()) {
      if (done()) return PreconditionFailed("object grew while reading: " + info_.path);
      if (block_ == nullptr) {
        ASSIGN_OR_RETURN(block_,
                         Block::Allocate(std::min(block_size_, end_ - current_ * block_size_)));
      }
      size_t n = std::min(piece.size(), block_->size() - filled_);
      std::memcpy(block_->mutable_bytes().data() + filled_, piece.data(), n);
      filled_ += n;
      piece = piece.subspan(n);
      if (filled_ < block_->size()) continue;
      bytes_->Inc(block_->size());  // counted before a reader can find the block in the store
      store_->Put(run_.NextKey(), block_);
      run_.Publish(BlockRef(std::move(block_)));
      block_ = nullptr;
      filled_ = 0;
      ++current_;
    }
    return Status::Ok();
  }

 private:
  BlockStore* const store_;
  Counter* const bytes_;
  const ObjectInfo& info_;
  const uint64_t block_size_;
  Run& run_;
  const uint64_t start_;
  uint64_t current_;
  const uint64_t end_;
  std::shared_ptr<Block> block_;
  size_t filled_ = 0;
};

ObjectService::ObjectService(ObjectServiceOptions options, BlockStore* store,
                             std::map<std::string, std::unique_ptr<Origin>> origins,
                             MetricsRegistry* metrics, Router* router, PeerClient* peers)
    : options_(options),
      store_(store),
      router_(router),
      peers_(peers),
      metadata_(options.metadata_ttl, options.metadata_entries, options.stale_if_error) {
  const char* hits_help = "Blocks served from the cache, by tier.";
  hits_ram_ = &metrics->GetCounter("unicache_cache_hits_total", {{"tier", "ram"}}, hits_help);
  hits_ssd_ = &metrics->GetCounter("unicache_cache_hits_total", {{"tier", "ssd"}}, hits_help);
  misses_ = &metrics->GetCounter("unicache_cache_misses_total", {},
                                 "Blocks not in the cache (fetched from origin or peer).");
  coalesced_ = &metrics->GetCounter("unicache_singleflight_coalesced_total", {},
                                    "Block misses that joined another request's origin fetch.");
  auto executor = [&](std::string name, size_t threads) {
    return std::make_unique<BoundedExecutor>(
        ExecutorOptions{std::move(name), threads, QueueLengthFor(threads), options_.queue_deadline},
        metrics);
  };
  ssd_ = executor("ssd", options_.ssd_threads);
  peer_executor_ = executor("peers", options_.peer_threads);
  for (auto& [name, origin] : origins) {
    Labels l = {{"origin", name}};
    origins_[name] = OriginSlot{
        name,
        std::move(origin),
        &metrics->GetCounter("unicache_origin_requests_total", l, "Requests sent to origins."),
        &metrics->GetCounter("unicache_origin_bytes_total", l, "Bytes read from origins."),
        &metrics->GetCounter("unicache_origin_errors_total", l, "Failed origin requests."),
        &metrics->GetCounter("unicache_stale_served_total", l,
                             "Requests served from expired metadata while the origin was "
                             "unreachable (stale-if-error)."),
        executor("origin " + name, options_.origin_threads),
    };
  }
}

ObjectService::~ObjectService() { Stop(); }

void ObjectService::Stop() {
  // A hung origin (or peer) would hold its threads until its timeouts: its calls are cancelled
  // first.
  for (auto& [name, slot] : origins_) slot.origin->Cancel();
  if (peers_ != nullptr) peers_->Cancel();
  for (auto& [name, slot] : origins_) slot.executor->Stop();
  peer_executor_->Stop();
  ssd_->Stop();
}

std::vector<std::string> ObjectService::OriginNames() const {
  std::vector<std::string> names;
  for (const auto& [name, slot] : origins_) names.push_back(name);
  return names;
}

Result<ObjectService::OriginSlot*> ObjectService::FindOrigin(const std::string& name) {
  auto it = origins_.find(name);
  if (it == origins_.end()) return NotFound("unknown origin '" + name + "'");
  return &it->second;
}

std::optional<ObjectInfo> ObjectService::CachedStat(const std::string& origin,
                                                    const std::string& path) {
  return metadata_.Get(origin, path);
}

boost::asio::awaitable<Result<ObjectInfo>> ObjectService::Stat(const std::string& origin_name,
                                                               const std::string& path,
                                                               bool refresh, StatNote* note) {
  if (note != nullptr) *note = StatNote{};
  Result<OriginSlot*> slot = FindOrigin(origin_name);
  if (!slot.ok()) co_return slot.status();
  if (!refresh) {
    if (auto cached = metadata_.Get(origin_name, path)) co_return *cached;
  }
  Result<ObjectInfo> info = co_await AwaitFlight(
      stat_flights_, origin_name + '\0' + path, Result<ObjectInfo>(Unavailable("stat abandoned")),
      [&](StatFlights::Claim claim) { PostStat(**slot, path, std::move(claim)); });
  co_return StaleOnError(**slot, path, std::move(info), note);
}

void ObjectService::PostStat(OriginSlot& slot, const std::string& path, StatFlights::Claim claim) {
  PostClaim(*slot.executor, std::move(claim),
            [this, &slot, path](StatFlights::Claim& c) { c.Finish(StatFromOrigin(slot, path)); });
}

Result<ObjectInfo> ObjectService::StaleOnError(OriginSlot& slot, const std::string& path,
                                               Result<ObjectInfo> result, StatNote* note) {
  // Retryable errors are the outages: refused, timed out, 5xx, or the origin's queue full.
  if (result.ok() || options_.stale_if_error.count() == 0 || !result.status().retryable()) {
    return result;
  }
  std::optional<ObjectInfo> stale = metadata_.GetStale(slot.name, path);
  if (!stale) return result;
  slot.stale->Inc();
  spdlog::debug("{}/{}: serving the cached version {} stale: {}", slot.name, path, stale->version,
                result.status().ToString());
  if (note != nullptr) note->stale = true;
  return *stale;
}

Result<ObjectInfo> ObjectService::StatFromOrigin(OriginSlot& slot, const std::string& path) {
  slot.requests->Inc();
  Result<ObjectInfo> info = slot.origin->Stat(path);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) {
      metadata_.Invalidate(slot.name, path);  // gone: never served stale
    } else {
      slot.errors->Inc();
    }
    return info;
  }
  metadata_.Put(slot.name, *info);
  return info;
}

std::shared_ptr<void> ObjectService::TakeRunSlot() {
  if (options_.fetch_run_bytes <= options_.block_size) return nullptr;
  if (runs_active_.fetch_add(1) >= kMaxRuns) {
    runs_active_.fetch_sub(1);
    return nullptr;
  }
  // Points at the counter (not null, so that it tests true); dropping the last copy gives the
  // slot back.
  return std::shared_ptr<void>(&runs_active_, [this](void*) { runs_active_.fetch_sub(1); });
}

boost::asio::awaitable<Result<ObjectInfo>> ObjectService::Open(const std::string& origin_name,
                                                               const std::string& path,
                                                               StatNote* note) {
  if (note != nullptr) *note = StatNote{};
  Result<OriginSlot*> slot = FindOrigin(origin_name);
  if (!slot.ok()) co_return slot.status();
  if (auto cached = metadata_.Get(origin_name, path)) co_return *cached;
  // In a cluster most first blocks belong to other members, and which ones is only known with
  // the version: the metadata comes from a Stat, as without runs.
  if (options_.fetch_run_bytes <= options_.block_size ||
      (router_ != nullptr && router_->placement()->size() > 1)) {
    co_return co_await Stat(origin_name, path, false, note);
  }
  bool opened = false;
  Result<ObjectInfo> info = co_await AwaitFlight(
      stat_flights_, origin_name + '\0' + path, Result<ObjectInfo>(Unavailable("open abandoned")),
      [&](StatFlights::Claim claim) {
        std::shared_ptr<void> run_slot = TakeRunSlot();
        if (run_slot == nullptr) return PostStat(**slot, path, std::move(claim));
        opened = true;
        // The slot is given back when the task is done with, run or refused.
        PostClaim(*(*slot)->executor, std::move(claim),
                  [this, s = *slot, path, run_slot](StatFlights::Claim& c) {
                    OpenRun(*s, path, std::move(c));
                  });
      });
  if (note != nullptr) note->opened = opened;
  co_return StaleOnError(**slot, path, std::move(info), note);
}

void ObjectService::OpenRun(OriginSlot& slot, const std::string& path, StatFlights::Claim stated) {
  slot.requests->Inc();
  const uint64_t max_blocks = options_.fetch_run_bytes / options_.block_size;
  std::optional<ObjectInfo> info;  // set once the read stated it
  Run run;
  std::optional<RunFill> fill;
  InfoSink on_info = [&](const ObjectInfo& got) -> Status {
    info = got;
    metadata_.Put(slot.name, *info);
    run.claims = ClaimBlocks(slot.name, *info, 0, std::min(BlockCount(info->size), max_blocks));
    misses_->Inc(run.claims.size());  // fetched ahead of their readers, as readahead's are
    stated.Finish(*info);
    if (info->size == 0) return Status::Ok();
    if (run.claims.empty()) return AlreadyExists("the object's first block is cached or claimed");
    fill.emplace(store_, slot.bytes, *info, options_.block_size, 0, run);
    return Status::Ok();
  };
  ByteSink sink = [&](std::span<const std::byte> piece) -> Status {
    // Claims stop at the first block cached or being fetched: the rest is not this run's.
    if (!fill || fill->done()) return AlreadyExists("the rest of the run is cached or claimed");
    return fill->Add(piece);
  };
  Result<uint64_t> n =
      slot.origin->OpenStream(path, max_blocks * options_.block_size, on_info, sink);
  if (!info) {
    Status st = n.ok() ? Internal("origin read of " + path + " stated no metadata") : n.status();
    if (st.code() == StatusCode::kNotFound) {
      metadata_.Invalidate(slot.name, path);  // gone: never served stale
    } else {
      slot.errors->Inc();
    }
    stated.Finish(st);
    return;
  }
  if (!fill || fill->done()) return;  // the run's blocks are all published
  Status st = n.ok() ? PreconditionFailed("object changed while reading: " + path) : n.status();
  slot.errors->Inc();
  if (st.code() == StatusCode::kPreconditionFailed) metadata_.Invalidate(slot.name, path);
  run.FailRest(st);
}

Result<BlockRef> ObjectService::FetchFromOrigin(OriginSlot& slot, const ObjectInfo& info,
                                                uint64_t index, const Key128& key) {
  uint64_t offset = index * options_.block_size;
  uint64_t length = std::min<uint64_t>(options_.block_size, info.size - offset);
  ASSIGN_OR_RETURN(std::shared_ptr<Block> block, Block::Allocate(length));
  slot.requests->Inc();
  Result<size_t> n = slot.origin->Read(info.path, info.version, offset, block->mutable_bytes());
  if (!n.ok()) {
    slot.errors->Inc();
    if (n.status().code() == StatusCode::kPreconditionFailed) {
      metadata_.Invalidate(slot.name, info.path);
    }
    return n.status();
  }
  slot.bytes->Inc(*n);
  if (*n != length) {
    // The object is shorter than its metadata said: it changed under us.
    metadata_.Invalidate(slot.name, info.path);
    return PreconditionFailed("object changed while reading: " + info.path);
  }
  store_->Put(key, block);
  return BlockRef(std::move(block));
}

std::vector<ObjectService::BlockFlights::Claim> ObjectService::ClaimBlocks(
    const std::string& origin_name, const ObjectInfo& info, uint64_t from, uint64_t end) {
  std::vector<BlockFlights::Claim> claims;
  for (uint64_t i = from; i < end; ++i) {
    Key128 key = BlockKey(origin_name, info.path, info.version, i);
    if (router_ != nullptr && !router_->Owns(key, origin_name, info.path)) break;
    if (store_->Contains(key)) break;
    std::optional<BlockFlights::Claim> claim =
        block_flights_.TryClaim(key, Unavailable("block read abandoned"));
    if (!claim) break;
    claims.push_back(std::move(*claim));
  }
  return claims;
}

void ObjectService::PostOriginFetch(OriginSlot& slot, const ObjectInfo& info, uint64_t index,
                                    BlockFlights::Claim claim) {
  PostClaim(*slot.executor, std::move(claim), [this, &slot, info, index](BlockFlights::Claim& c) {
    if (std::shared_ptr<void> run_slot = TakeRunSlot()) {  // held while the run streams
      const uint64_t max_blocks = options_.fetch_run_bytes / options_.block_size;
      std::vector<BlockFlights::Claim> after = ClaimBlocks(
          slot.name, info, index + 1, std::min(BlockCount(info.size), index + max_blocks));
      if (!after.empty()) {
        std::vector<BlockFlights::Claim> run;
        run.reserve(after.size() + 1);
        run.push_back(std::move(c));
        for (BlockFlights::Claim& claim : after) run.push_back(std::move(claim));
        return StreamRun(slot, info, index, std::move(run));
      }
    }
    c.Finish(FetchFromOrigin(slot, info, index, c.key()));
  });
}

void ObjectService::StreamRun(OriginSlot& slot, const ObjectInfo& info, uint64_t index,
                              std::vector<BlockFlights::Claim> claims) {
  Run run;
  run.claims = std::move(claims);
  slot.requests->Inc();
  RunFill fill(store_, slot.bytes, info, options_.block_size, index, run);
  ByteSink sink = [&](std::span<const std::byte> piece) { return fill.Add(piece); };
  // To the object's end, when the run reaches it: a read from 0 is then a plain GET.
  const bool to_end = fill.offset() + fill.length() == info.size;
  Result<uint64_t> n = slot.origin->ReadStream(info.path, info.version, fill.offset(),
                                               to_end ? kToEnd : fill.length(), sink);
  if (n.ok() && *n == fill.length()) return;
  Status st =
      n.ok() ? PreconditionFailed("object changed while reading: " + info.path) : n.status();
  slot.errors->Inc();
  if (st.code() == StatusCode::kPreconditionFailed) metadata_.Invalidate(slot.name, info.path);
  run.FailRest(st);
}

boost::asio::awaitable<Result<BlockRef>> ObjectService::GetBlock(const std::string& origin_name,
                                                                 const ObjectInfo& info,
                                                                 uint64_t index,
                                                                 BlockSource* source,
                                                                 bool forwarded) {
  Result<OriginSlot*> slot = FindOrigin(origin_name);
  if (!slot.ok()) co_return slot.status();
  if (index >= BlockCount(info.size))
    co_return OutOfRange("block index past the end of the object");
  const Key128 key = BlockKey(origin_name, info.path, info.version, index);
  if (BlockRef hot = store_->GetIfInRam(key)) {
    hits_ram_->Inc();
    if (source) *source = BlockSource::kRam;
    co_return hot;
  }
  if (store_->Contains(key)) {
    Tier tier = Tier::kSsd;
    Result<BlockRef> hit = co_await RunOn(
        *ssd_, [this, &key, &tier]() -> Result<BlockRef> { return store_->Get(key, &tier); });
    if (hit.ok()) {
      (tier == Tier::kRam ? hits_ram_ : hits_ssd_)->Inc();
      if (source) *source = tier == Tier::kRam ? BlockSource::kRam : BlockSource::kSsd;
      co_return hit;
    }
    // The SSD queue is full: 503 now. Otherwise the file went away or was corrupt: a miss.
    if (hit.status().detail() == StatusDetail::kOverloaded) co_return hit;
  }
  misses_->Inc();
  bool coalesced = false;
  BlockSource fetched_from = BlockSource::kOrigin;  // set by the fetch before it finishes
  Result<BlockRef> block = co_await AwaitFlight(
      block_flights_, key, Result<BlockRef>(Unavailable("block read abandoned")),
      [&](BlockFlights::Claim claim) {
        // A flight for this block may have ended between the miss above and this one starting:
        // its block is in RAM now, and reading the origin again would break the promise of one
        // origin read per block.
        if (BlockRef done = store_->GetIfInRam(key)) {
          fetched_from = BlockSource::kCoalesced;
          return claim.Finish(std::move(done));
        }
        StartFetch(**slot, info, index, forwarded, std::move(claim), &fetched_from);
      },
      &coalesced);
  if (fetched_from == BlockSource::kCoalesced) coalesced = true;
  if (coalesced) coalesced_->Inc();
  if (source) *source = coalesced ? BlockSource::kCoalesced : fetched_from;
  co_return block;
}

void ObjectService::StartFetch(OriginSlot& slot, const ObjectInfo& info, uint64_t index,
                               bool forwarded, BlockFlights::Claim claim, BlockSource* source) {
  if (router_ == nullptr || peers_ == nullptr) {
    return PostOriginFetch(slot, info, index, std::move(claim));
  }
  BlockPlan plan = router_->Plan(claim.key(), slot.name, info.path, forwarded);
  if (plan.fetch_from_origin) return PostOriginFetch(slot, info, index, std::move(claim));
  PostClaim(*peer_executor_, std::move(claim),
            [this, &slot, info, index, plan, source](BlockFlights::Claim& c) {
              Result<BlockRef> block = FetchFromPeers(slot.name, info, index, c.key(), plan);
              if (block.ok()) *source = BlockSource::kPeer;
              if (block.ok() || block.status().code() == StatusCode::kPreconditionFailed) {
                return c.Finish(std::move(block));
              }
              // No owner answered: read the origin here rather than fail the client.
              PostOriginFetch(slot, info, index, std::move(c));
            });
}

Result<BlockRef> ObjectService::FetchFromPeers(const std::string& origin_name,
                                               const ObjectInfo& info, uint64_t index,
                                               const Key128& key, const BlockPlan& plan) {
  const uint64_t offset = index * options_.block_size;
  ASSIGN_OR_RETURN(std::shared_ptr<Block> block,
                   Block::Allocate(std::min<uint64_t>(options_.block_size, info.size - offset)));
  for (const Member* peer : plan.candidates) {
    Status fetched = peers_->FetchBlock(*peer, origin_name, info, offset, block->mutable_bytes());
    // A peer at its transfer cap was not asked: no news of its health.
    if (fetched.detail() != StatusDetail::kOverloaded) router_->health().Report(peer->id, fetched);
    if (fetched.ok()) {
      if (plan.keep_copy) store_->Put(key, block);
      return BlockRef(std::move(block));
    }
    if (fetched.code() == StatusCode::kPreconditionFailed) {
      metadata_.Invalidate(origin_name, info.path);
      return fetched;
    }
    spdlog::debug("block {} of {}/{}: {} failed ({}), trying the next owner", index, origin_name,
                  info.path, peer->id, fetched.ToString());
  }
  return NotFound("no owner of the block answered");
}

bool ObjectService::OwnedElsewhere(const std::string& origin, const ObjectInfo& info,
                                   uint64_t index) const {
  if (router_ == nullptr) return false;
  return !router_->Owns(BlockKey(origin, info.path, info.version, index), origin, info.path);
}

BlockRef ObjectService::GetBlockIfInRam(const std::string& origin, const ObjectInfo& info,
                                        uint64_t index) {
  BlockRef block = store_->GetIfInRam(BlockKey(origin, info.path, info.version, index));
  if (block) hits_ram_->Inc();
  return block;
}

bool ObjectService::HasBlock(const std::string& origin, const ObjectInfo& info,
                             uint64_t index) const {
  return store_->Contains(BlockKey(origin, info.path, info.version, index));
}

// The blocks of one upload, cut from its bytes as they pass to the origin and kept for the cache
// until the write returns the version they belong to. An upload keeps its blocks only when its
// whole size fits, at its start, in a budget shared by all uploads under way.
class ObjectService::UploadBlocks {
 public:
  UploadBlocks(uint64_t block_size, uint64_t size, std::atomic<uint64_t>& held, uint64_t budget)
      : block_size_(block_size), size_(size), held_(held) {
    keeping_ = held_.fetch_add(size) + size <= budget;
    if (!keeping_) held_.fetch_sub(size);
  }
  ~UploadBlocks() { Drop(); }

  void Add(std::span<const std::byte> bytes) {
    while (!bytes.empty() && keeping_) {
      if (block_ == nullptr) {
        const uint64_t length = std::min(block_size_, size_ - blocks_.size() * block_size_);
        Result<std::shared_ptr<Block>> block = Block::Allocate(length);
        if (!block.ok()) return Drop();  // out of block memory: the upload goes on uncached
        block_ = std::move(block).value();
        filled_ = 0;
      }
      const size_t n = std::min<size_t>(bytes.size(), block_->size() - filled_);
      std::memcpy(block_->mutable_bytes().data() + filled_, bytes.data(), n);
      filled_ += n;
      bytes = bytes.subspan(n);
      if (filled_ == block_->size()) blocks_.push_back(std::exchange(block_, nullptr));
    }
  }

  // The kept blocks, in order; empty unless every block of the upload was kept.
  std::vector<std::shared_ptr<Block>> Complete() const {
    const uint64_t count = (size_ + block_size_ - 1) / block_size_;
    return keeping_ && blocks_.size() == count ? blocks_ : std::vector<std::shared_ptr<Block>>();
  }

 private:
  void Drop() {
    if (keeping_) held_.fetch_sub(size_);
    keeping_ = false;
    blocks_.clear();
    block_ = nullptr;
  }

  const uint64_t block_size_;
  const uint64_t size_;
  std::atomic<uint64_t>& held_;
  bool keeping_;  // the whole size is taken from the budget
  std::vector<std::shared_ptr<Block>> blocks_;
  std::shared_ptr<Block> block_;  // being filled
  size_t filled_ = 0;
};

boost::asio::awaitable<Result<ObjectInfo>> ObjectService::Write(const std::string& origin_name,
                                                                const std::string& path,
                                                                uint64_t size,
                                                                const BodyRead& read) {
  Result<OriginSlot*> found = FindOrigin(origin_name);
  if (!found.ok()) co_return found.status();
  OriginSlot& slot = **found;
  auto pipe = std::make_shared<UploadPipe>();
  // Closes the pipe once the origin write is over, or when its task is refused and dropped
  // unrun: either way the reading below stops.
  class CloseWhenDone {
   public:
    explicit CloseWhenDone(std::shared_ptr<UploadPipe> pipe) : pipe_(std::move(pipe)) {}
    ~CloseWhenDone() { pipe_->Close(); }

   private:
    std::shared_ptr<UploadPipe> pipe_;
  };
  auto closer = std::make_shared<CloseWhenDone>(pipe);
  auto written = StartOn(*slot.executor, [this, &slot, path, size, pipe, closer]() {
    return WriteToOrigin(slot, path, size, *pipe);
  });
  closer.reset();
  uint64_t sent = 0;
  while (sent < size) {
    std::span<std::byte> piece = co_await pipe->NextFree();
    if (piece.empty()) break;  // the write is over (failed, or refused): read no more
    piece = piece.first(static_cast<size_t>(std::min<uint64_t>(piece.size(), size - sent)));
    Result<size_t> n = co_await read(piece);
    if (n.ok() && *n == 0) n = InvalidArgument("the body ended before its stated length");
    if (!n.ok()) {
      pipe->Fail(n.status());
      break;
    }
    pipe->Publish(*n);
    sent += *n;
  }
  co_return co_await written->Wait();
}

Result<ObjectInfo> ObjectService::WriteToOrigin(OriginSlot& slot, const std::string& path,
                                                uint64_t size, UploadPipe& pipe) {
  slot.requests->Inc();
  metadata_.Invalidate(slot.name, path);
  UploadBlocks kept(options_.block_size, size, upload_kept_bytes_, options_.upload_keep_bytes);
  pipe.Begin();
  ByteSource source = [&](std::span<std::byte> dst) -> Result<size_t> {
    ASSIGN_OR_RETURN(size_t n, pipe.Pull(dst));
    kept.Add(dst.first(n));
    return n;
  };
  Result<ObjectInfo> info = slot.origin->WriteStream(path, size, source);
  if (!info.ok()) {
    slot.errors->Inc();
    return info;
  }
  metadata_.Put(slot.name, *info);
  // Keep the blocks this node owns (all of them when alone), so the next load is a hit.
  std::vector<std::shared_ptr<Block>> blocks = kept.Complete();
  for (uint64_t index = 0; index < blocks.size(); ++index) {
    Key128 key = BlockKey(slot.name, info->path, info->version, index);
    if (router_ != nullptr && !router_->Owns(key, slot.name, info->path)) continue;
    store_->Put(key, std::move(blocks[index]));
  }
  return info;
}

boost::asio::awaitable<Status> ObjectService::Delete(const std::string& origin_name,
                                                     const std::string& path) {
  Result<OriginSlot*> found = FindOrigin(origin_name);
  if (!found.ok()) co_return found.status();
  OriginSlot& slot = **found;
  Result<bool> deleted = co_await RunOn(*slot.executor, [this, &slot, &path]() -> Result<bool> {
    slot.requests->Inc();
    metadata_.Invalidate(slot.name, path);
    Status st = slot.origin->Delete(path);
    metadata_.Invalidate(slot.name, path);
    if (!st.ok()) {
      slot.errors->Inc();
      return st;
    }
    return true;
  });
  co_return deleted.status();
}

boost::asio::awaitable<Result<ListPage>> ObjectService::List(const std::string& origin_name,
                                                             const ListOptions& options) {
  Result<OriginSlot*> found = FindOrigin(origin_name);
  if (!found.ok()) co_return found.status();
  OriginSlot& slot = **found;
  co_return co_await RunOn(*slot.executor, [&slot, &options]() -> Result<ListPage> {
    slot.requests->Inc();
    Result<ListPage> page = slot.origin->List(options);
    if (!page.ok()) slot.errors->Inc();
    return page;
  });
}

}  // namespace unicache

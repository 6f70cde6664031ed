#include "server/objects/object_service.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <future>
#include <optional>

namespace unicache {
namespace {

// Run threads: a run holds one origin stream, so this also bounds the streams per node.
constexpr int kRunThreads = 8;

}  // namespace

// One run's blocks in flight: block `index` for the caller that started it, then the claimed
// ones after it. A run that opens an object (OpenBlocking) has no such caller: every block is a
// claim, and `first_done` starts true. Whatever is unpublished when it is destroyed (a node
// stopping before the run started) finishes with an error, so no waiter is left hanging.
struct ObjectService::Run {
  std::promise<Result<BlockRef>> first;
  Key128 first_key;
  bool first_done = false;
  std::vector<BlockFlights::Claim> claims;  // finished in order, each exactly once
  size_t claims_done = 0;

  // The store key of the block Publish() takes next (computed when the run was claimed).
  const Key128& NextKey() const { return first_done ? claims[claims_done].key() : first_key; }

  void Publish(Result<BlockRef> block) {
    if (!first_done) {
      first_done = true;
      first.set_value(std::move(block));
    } else {
      claims[claims_done++].Finish(std::move(block));
    }
  }
  void FailRest(const Status& st) {
    if (!first_done) Publish(st);
    while (claims_done < claims.size()) Publish(st);
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
        current_(index) {
    const uint64_t blocks = (run.first_done ? 0 : 1) + run.claims.size();
    end_ = std::min(info.size, (index + blocks) * block_size);
  }

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
  uint64_t end_;
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
      origins_(std::move(origins)),
      metadata_(options.metadata_ttl, options.metadata_entries, options.stale_if_error) {
  for (const auto& [name, origin] : origins_) {
    Labels l = {{"origin", name}};
    origin_metrics_[name] = {
        &metrics->GetCounter("unicache_origin_requests_total", l, "Requests sent to origins."),
        &metrics->GetCounter("unicache_origin_bytes_total", l, "Bytes read from origins."),
        &metrics->GetCounter("unicache_origin_errors_total", l, "Failed origin requests."),
        &metrics->GetCounter("unicache_stale_served_total", l,
                             "Requests served from expired metadata while the origin was "
                             "unreachable (stale-if-error)."),
    };
  }
  const char* hits_help = "Blocks served from the cache, by tier.";
  hits_ram_ = &metrics->GetCounter("unicache_cache_hits_total", {{"tier", "ram"}}, hits_help);
  hits_ssd_ = &metrics->GetCounter("unicache_cache_hits_total", {{"tier", "ssd"}}, hits_help);
  misses_ = &metrics->GetCounter("unicache_cache_misses_total", {},
                                 "Blocks not in the cache (fetched from origin or peer).");
  coalesced_ = &metrics->GetCounter("unicache_singleflight_coalesced_total", {},
                                    "Block misses that joined another request's origin fetch.");
  if (options_.fetch_run_bytes > options_.block_size) {
    run_pool_ = std::make_unique<boost::asio::thread_pool>(kRunThreads);
  }
}

ObjectService::~ObjectService() = default;

std::vector<std::string> ObjectService::OriginNames() const {
  std::vector<std::string> names;
  for (const auto& [name, origin] : origins_) names.push_back(name);
  return names;
}

Result<Origin*> ObjectService::FindOrigin(const std::string& name) {
  auto it = origins_.find(name);
  if (it == origins_.end()) return NotFound("unknown origin '" + name + "'");
  return it->second.get();
}

std::optional<ObjectInfo> ObjectService::CachedStat(const std::string& origin,
                                                    const std::string& path) {
  return metadata_.Get(origin, path);
}

Result<ObjectInfo> ObjectService::StatBlocking(const std::string& origin_name,
                                               const std::string& path, bool refresh,
                                               StatNote* note) {
  ASSIGN_OR_RETURN(Origin * origin, FindOrigin(origin_name));
  if (!refresh) {
    if (auto cached = metadata_.Get(origin_name, path)) return *cached;
  }
  return StaleOnError(origin_name, path,
                      stat_flights_.Do(origin_name + '\0' + path,
                                       [&] { return StatFromOrigin(origin_name, origin, path); }),
                      note);
}

Result<ObjectInfo> ObjectService::StaleOnError(const std::string& origin_name,
                                               const std::string& path, Result<ObjectInfo> result,
                                               StatNote* note) {
  if (result.ok() || options_.stale_if_error.count() == 0) return result;
  const StatusCode code = result.status().code();
  if (code != StatusCode::kUnavailable && code != StatusCode::kDeadlineExceeded) return result;
  std::optional<ObjectInfo> stale = metadata_.GetStale(origin_name, path);
  if (!stale) return result;
  origin_metrics_.at(origin_name).stale->Inc();
  spdlog::debug("{}/{}: serving the cached version {} stale: {}", origin_name, path, stale->version,
                result.status().ToString());
  if (note != nullptr) note->stale = true;
  return *stale;
}

Result<ObjectInfo> ObjectService::StatFromOrigin(const std::string& origin_name, Origin* origin,
                                                 const std::string& path) {
  OriginMetrics& m = origin_metrics_.at(origin_name);
  m.requests->Inc();
  Result<ObjectInfo> info = origin->Stat(path);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) {
      metadata_.Invalidate(origin_name, path);  // gone: never served stale
    } else {
      m.errors->Inc();
    }
    return info;
  }
  metadata_.Put(origin_name, *info);
  return info;
}

Result<ObjectInfo> ObjectService::OpenBlocking(const std::string& origin_name,
                                               const std::string& path, StatNote* note) {
  if (note != nullptr) *note = StatNote{};
  ASSIGN_OR_RETURN(Origin * origin, FindOrigin(origin_name));
  if (auto cached = metadata_.Get(origin_name, path)) return *cached;
  // In a cluster most first blocks belong to other members, and which ones is only known with
  // the version: the metadata comes from a Stat, as without runs.
  if (run_pool_ == nullptr || (router_ != nullptr && router_->placement()->size() > 1)) {
    return StatBlocking(origin_name, path, false, note);
  }
  Result<ObjectInfo> info =
      stat_flights_.Do(origin_name + '\0' + path, [&]() -> Result<ObjectInfo> {
        if (runs_active_.fetch_add(1) >= kRunThreads) {  // every run thread busy
          runs_active_.fetch_sub(1);
          return StatFromOrigin(origin_name, origin, path);
        }
        if (note != nullptr) note->opened = true;
        auto opened = std::make_shared<std::promise<Result<ObjectInfo>>>();
        std::future<Result<ObjectInfo>> stated = opened->get_future();
        boost::asio::post(*run_pool_, [this, origin_name, origin, path, opened] {
          OpenRun(origin_name, origin, path, *opened);
          runs_active_.fetch_sub(1);
        });
        return stated.get();
      });
  return StaleOnError(origin_name, path, std::move(info), note);
}

void ObjectService::OpenRun(const std::string& origin_name, Origin* origin, const std::string& path,
                            std::promise<Result<ObjectInfo>>& opened) {
  OriginMetrics& m = origin_metrics_.at(origin_name);
  m.requests->Inc();
  const uint64_t max_blocks = options_.fetch_run_bytes / options_.block_size;
  std::optional<ObjectInfo> info;  // set once the read stated it
  Run run;
  run.first_done = true;  // every block is a claim
  std::optional<RunFill> fill;
  InfoSink on_info = [&](const ObjectInfo& stated) -> Status {
    info = stated;
    metadata_.Put(origin_name, *info);
    run.claims = ClaimBlocks(origin_name, *info, 0, std::min(BlockCount(info->size), max_blocks));
    misses_->Inc(run.claims.size());  // fetched ahead of their readers, as readahead's are
    opened.set_value(*info);
    if (info->size == 0) return Status::Ok();
    if (run.claims.empty()) return AlreadyExists("the object's first block is cached or claimed");
    fill.emplace(store_, m.bytes, *info, options_.block_size, 0, run);
    return Status::Ok();
  };
  ByteSink sink = [&](std::span<const std::byte> piece) -> Status {
    // Claims stop at the first block cached or being fetched: the rest is not this run's.
    if (!fill || fill->done()) return AlreadyExists("the rest of the run is cached or claimed");
    return fill->Add(piece);
  };
  Result<uint64_t> n = origin->OpenStream(path, max_blocks * options_.block_size, on_info, sink);
  if (!info) {
    Status st = n.ok() ? Internal("origin read of " + path + " stated no metadata") : n.status();
    if (st.code() == StatusCode::kNotFound) {
      metadata_.Invalidate(origin_name, path);  // gone: never served stale
    } else {
      m.errors->Inc();
    }
    opened.set_value(st);
    return;
  }
  if (!fill || fill->done()) return;  // the run's blocks are all published
  Status st = n.ok() ? PreconditionFailed("object changed while reading: " + path) : n.status();
  m.errors->Inc();
  if (st.code() == StatusCode::kPreconditionFailed) metadata_.Invalidate(origin_name, path);
  run.FailRest(st);
}

Result<BlockRef> ObjectService::FetchFromOrigin(const std::string& origin_name, Origin* origin,
                                                const ObjectInfo& info, uint64_t index,
                                                const Key128& key) {
  if (std::vector<BlockFlights::Claim> claims = ClaimRun(origin_name, info, index);
      !claims.empty()) {
    return FetchRun(origin_name, origin, info, index, key, std::move(claims));
  }
  uint64_t offset = index * options_.block_size;
  uint64_t length = std::min<uint64_t>(options_.block_size, info.size - offset);
  ASSIGN_OR_RETURN(std::shared_ptr<Block> block, Block::Allocate(length));
  OriginMetrics& m = origin_metrics_.at(origin_name);
  m.requests->Inc();
  Result<size_t> n = origin->Read(info.path, info.version, offset, block->mutable_bytes());
  if (!n.ok()) {
    m.errors->Inc();
    if (n.status().code() == StatusCode::kPreconditionFailed) {
      metadata_.Invalidate(origin_name, info.path);
    }
    return n.status();
  }
  m.bytes->Inc(*n);
  if (*n != length) {
    // The object is shorter than its metadata said: it changed under us.
    metadata_.Invalidate(origin_name, info.path);
    return PreconditionFailed("object changed while reading: " + info.path);
  }
  store_->Put(key, block);
  return BlockRef(std::move(block));
}

std::vector<ObjectService::BlockFlights::Claim> ObjectService::ClaimRun(
    const std::string& origin_name, const ObjectInfo& info, uint64_t index) {
  std::vector<BlockFlights::Claim> claims;
  if (run_pool_ == nullptr) return claims;
  if (runs_active_.fetch_add(1) >= kRunThreads) {  // every run thread busy: no run
    runs_active_.fetch_sub(1);
    return claims;
  }
  const uint64_t max_blocks = options_.fetch_run_bytes / options_.block_size;
  claims = ClaimBlocks(origin_name, info, index + 1,
                       std::min(BlockCount(info.size), index + max_blocks));
  if (claims.empty()) runs_active_.fetch_sub(1);  // FetchRun releases the slot otherwise
  return claims;
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

Result<BlockRef> ObjectService::FetchRun(const std::string& origin_name, Origin* origin,
                                         const ObjectInfo& info, uint64_t index, const Key128& key,
                                         std::vector<BlockFlights::Claim> claims) {
  auto run = std::make_shared<Run>();
  run->first_key = key;
  run->claims = std::move(claims);
  std::future<Result<BlockRef>> first = run->first.get_future();
  boost::asio::post(*run_pool_, [this, origin_name, origin, info, index, run] {
    StreamRun(origin_name, origin, info, index, *run);
    runs_active_.fetch_sub(1);
  });
  return first.get();
}

void ObjectService::StreamRun(const std::string& origin_name, Origin* origin,
                              const ObjectInfo& info, uint64_t index, Run& run) {
  OriginMetrics& m = origin_metrics_.at(origin_name);
  m.requests->Inc();
  RunFill fill(store_, m.bytes, info, options_.block_size, index, run);
  ByteSink sink = [&](std::span<const std::byte> piece) { return fill.Add(piece); };
  // To the object's end, when the run reaches it: a read from 0 is then a plain GET.
  const bool to_end = fill.offset() + fill.length() == info.size;
  Result<uint64_t> n = origin->ReadStream(info.path, info.version, fill.offset(),
                                          to_end ? kToEnd : fill.length(), sink);
  if (n.ok() && *n == fill.length()) return;
  Status st =
      n.ok() ? PreconditionFailed("object changed while reading: " + info.path) : n.status();
  m.errors->Inc();
  if (st.code() == StatusCode::kPreconditionFailed) metadata_.Invalidate(origin_name, info.path);
  run.FailRest(st);
}

Result<BlockRef> ObjectService::GetBlockBlocking(const std::string& origin_name,
                                                 const ObjectInfo& info, uint64_t index,
                                                 BlockSource* source, bool forwarded) {
  ASSIGN_OR_RETURN(Origin * origin, FindOrigin(origin_name));
  if (index >= BlockCount(info.size)) return OutOfRange("block index past the end of the object");
  Key128 key = BlockKey(origin_name, info.path, info.version, index);
  Tier tier;
  Result<BlockRef> hit = store_->Get(key, &tier);
  if (hit.ok()) {
    (tier == Tier::kRam ? hits_ram_ : hits_ssd_)->Inc();
    if (source) *source = tier == Tier::kRam ? BlockSource::kRam : BlockSource::kSsd;
    return hit;
  }
  misses_->Inc();
  bool coalesced = false;
  BlockSource fetched_from = BlockSource::kOrigin;
  Result<BlockRef> block = block_flights_.Do(
      key,
      [&]() -> Result<BlockRef> {
        // A flight for this block may have ended between the miss above and this one starting:
        // its block is in the store now, and reading the origin again would break the promise
        // of one origin read per block.
        if (Result<BlockRef> done = store_->Get(key); done.ok()) {
          fetched_from = BlockSource::kCoalesced;
          return done;
        }
        return FetchMissing(origin_name, origin, info, index, key, forwarded, &fetched_from);
      },
      &coalesced);
  if (fetched_from == BlockSource::kCoalesced) coalesced = true;
  if (coalesced) coalesced_->Inc();
  if (source) *source = coalesced ? BlockSource::kCoalesced : fetched_from;
  return block;
}

Result<BlockRef> ObjectService::FetchMissing(const std::string& origin_name, Origin* origin,
                                             const ObjectInfo& info, uint64_t index,
                                             const Key128& key, bool forwarded,
                                             BlockSource* source) {
  *source = BlockSource::kOrigin;
  if (router_ == nullptr || peers_ == nullptr || forwarded) {
    return FetchFromOrigin(origin_name, origin, info, index, key);
  }
  BlockPlan plan = router_->Plan(key, origin_name, info.path);
  if (plan.fetch_from_origin) return FetchFromOrigin(origin_name, origin, info, index, key);
  const uint64_t offset = index * options_.block_size;
  if (offset >= info.size) return OutOfRange("block index past the end of the object");
  ASSIGN_OR_RETURN(std::shared_ptr<Block> block,
                   Block::Allocate(std::min<uint64_t>(options_.block_size, info.size - offset)));
  for (const Member* peer : plan.candidates) {
    Status fetched = peers_->FetchBlock(*peer, origin_name, info, offset, block->mutable_bytes());
    router_->health().Report(peer->id, fetched);
    if (fetched.ok()) {
      *source = BlockSource::kPeer;
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
  // No owner answered: read the origin here rather than fail the client.
  return FetchFromOrigin(origin_name, origin, info, index, key);
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

Result<ObjectInfo> ObjectService::WriteBlocking(const std::string& origin_name,
                                                const std::string& path,
                                                std::span<const std::byte> data) {
  ASSIGN_OR_RETURN(Origin * origin, FindOrigin(origin_name));
  OriginMetrics& m = origin_metrics_.at(origin_name);
  m.requests->Inc();
  metadata_.Invalidate(origin_name, path);
  Result<ObjectInfo> info = origin->Write(path, data);
  if (!info.ok()) {
    m.errors->Inc();
    return info;
  }
  metadata_.Put(origin_name, *info);
  // Keep the blocks this node owns (all of them when alone), so the next load is a hit.
  for (uint64_t index = 0; index < BlockCount(info->size); ++index) {
    Key128 key = BlockKey(origin_name, info->path, info->version, index);
    if (router_ != nullptr && !router_->Owns(key, origin_name, info->path)) continue;
    uint64_t offset = index * options_.block_size;
    uint64_t length = std::min<uint64_t>(options_.block_size, info->size - offset);
    Result<std::shared_ptr<Block>> block = Block::Allocate(length);
    if (!block.ok()) break;  // the write is through; the cache just keeps fewer of its blocks
    std::copy_n(data.data() + offset, length, (*block)->mutable_bytes().data());
    store_->Put(key, std::move(block).value());
  }
  return info;
}

Result<ListPage> ObjectService::ListBlocking(const std::string& origin_name,
                                             const ListOptions& options) {
  ASSIGN_OR_RETURN(Origin * origin, FindOrigin(origin_name));
  OriginMetrics& m = origin_metrics_.at(origin_name);
  m.requests->Inc();
  Result<ListPage> page = origin->List(options);
  if (!page.ok()) m.errors->Inc();
  return page;
}

}  // namespace unicache

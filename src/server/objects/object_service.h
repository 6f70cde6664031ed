// ObjectService: the read path's logic, free of HTTP: object metadata through the metadata
// cache, blocks through the block store, misses through single-flight to the origin. Each
// resource it waits on (every origin, the SSD, peer transfers) has its own bounded executor.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/peer_client.h"
#include "cluster/router.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "origin/origin.h"
#include "server/objects/metadata_cache.h"
#include "server/objects/single_flight.h"
#include "server/objects/upload_pipe.h"
#include "server/work/bounded_executor.h"
#include "store/block_store.h"

namespace unicache {

// Where a block came from.
enum class BlockSource { kRam, kSsd, kOrigin, kCoalesced, kPeer };

struct ObjectServiceOptions {
  uint64_t block_size = 4ull << 20;
  std::chrono::milliseconds metadata_ttl{10000};  // milliseconds::max() for immutable origins
  size_t metadata_entries = 1 << 20;
  // Up to this many bytes of blocks, from a missed one on, are read from the origin in one
  // streamed request (one GET without a range when that covers the whole object), each block
  // published as soon as its bytes are in. At most one block (the default): one ranged request
  // per block, sent in parallel by readahead, which suits cloud stores, whose single streams
  // are slow; runs suit origins whose per-request cost is high (docs/ARCHITECTURE.md).
  uint64_t fetch_run_bytes = 0;
  // How long past its TTL an object's metadata still serves its cached blocks when revalidating
  // it fails for an outage (refused, timeout, 5xx): stale-if-error. 0 turns it off.
  std::chrono::milliseconds stale_if_error{std::chrono::hours(1)};
  // Threads of each origin's executor: the requests in flight to one origin (RetryingOrigin's
  // bound, so none waits for a permit holding a thread).
  size_t origin_threads = 64;
  size_t ssd_threads = 16;   // threads reading blocks from the SSD tier
  size_t peer_threads = 32;  // threads fetching blocks from other members
  // Work that waits this long for a thread of its resource is refused with 503 + Retry-After.
  std::chrono::milliseconds queue_deadline{10000};
  // Bytes of blocks that uploads under way may hold for the cache, all uploads together.
  uint64_t upload_keep_bytes = 64ull << 20;
};

// Reads the next bytes of a request body into `dst`, until it is full or the body ends; returns
// how many (0 at the end).
using BodyRead = std::function<boost::asio::awaitable<Result<size_t>>(std::span<std::byte> dst)>;

// The length of each executor's queue: this many tasks per thread, at least 1024.
size_t QueueLengthFor(size_t threads);

// What resolving an object's metadata did besides returning it.
struct StatNote {
  bool opened = false;  // the read that brought the metadata fetched the object's first blocks
  bool stale = false;   // the origin could not be asked: this is the expired cached version
};

// Thread-safe. The awaitable methods run on an event loop and never block it: I/O runs on the
// executor of the resource it uses (the origin's, the SSD's, the peers'), and a reader of a
// block or an object being fetched awaits that fetch without holding a thread. Each executor's
// queue is bounded: when it is full, or a task waited past the queue deadline, the call returns
// ResourceExhausted (overloaded, with a Retry-After: HTTP 503), so one hung origin delays only
// its own misses. Borrows the store and metrics (must outlive it); owns the origins.
class ObjectService {
 public:
  // `router` and `peers` (borrowed, may be null for a node on its own) send misses on blocks
  // owned by other members to those members.
  ObjectService(ObjectServiceOptions options, BlockStore* store,
                std::map<std::string, std::unique_ptr<Origin>> origins, MetricsRegistry* metrics,
                Router* router = nullptr, PeerClient* peers = nullptr);
  // Stop()s.
  ~ObjectService();

  // Cancels the origins' calls in flight (a hung origin must not hold the node up), refuses
  // queued work and waits for the running work. Call once the event loops have stopped
  // (their coroutines are resumed by posting to them). Idempotent.
  void Stop();

  uint64_t block_size() const { return options_.block_size; }
  // Returns true when an origin of that name is configured.
  bool HasOrigin(const std::string& name) const { return origins_.count(name) > 0; }
  std::vector<std::string> OriginNames() const;

  // Returns the object's metadata from the cache, or from the origin (one Stat per object at a
  // time, whatever the fan-in). `refresh` skips the cache. When asking the origin fails for an
  // outage (or its queue is full), metadata expired less than stale_if_error ago is returned
  // instead (`note->stale`); an object the origin says is gone or changed is never served stale.
  boost::asio::awaitable<Result<ObjectInfo>> Stat(const std::string& origin,
                                                  const std::string& path, bool refresh = false,
                                                  StatNote* note = nullptr);

  // Returns the metadata as Stat does, but for an object not in the metadata cache it comes
  // from a streamed read of the object's first fetch_run_bytes, which goes on filling those
  // blocks once the metadata is returned: one origin request where a Stat and a block read take
  // two. For reads from the start of an object. Falls back to Stat when runs are off, in a
  // cluster of more than one member, or when as many runs as allowed are streaming.
  // `note` (optional) says whether this call's read fetched the object's first blocks, and
  // whether the metadata is stale, as for Stat.
  boost::asio::awaitable<Result<ObjectInfo>> Open(const std::string& origin,
                                                  const std::string& path,
                                                  StatNote* note = nullptr);

  // Returns cached metadata without I/O, or nullopt.
  std::optional<ObjectInfo> CachedStat(const std::string& origin, const std::string& path);

  // Returns block `index` of the object `info` (a version resolved by Stat), from the store or,
  // on a miss, from the block's owner: this node reads the origin when it is the primary owner
  // (or alone, or `forwarded` says another node sent the request and this one owns no copy),
  // otherwise it asks the owners in turn (a forwarded request at a secondary replica: the primary
  // alone; Router::Plan) and falls back to the origin when none answers. Concurrent misses on one
  // block share one fetch. PreconditionFailed when the object no longer has info.version (metadata
  // is dropped).
  boost::asio::awaitable<Result<BlockRef>> GetBlock(const std::string& origin,
                                                    const ObjectInfo& info, uint64_t index,
                                                    BlockSource* source = nullptr,
                                                    bool forwarded = false);

  // Returns true when the block would come from another member on a miss here.
  bool OwnedElsewhere(const std::string& origin, const ObjectInfo& info, uint64_t index) const;

  // Returns the block when it is in the RAM tier (counted as a hit), else nullptr. Never blocks.
  BlockRef GetBlockIfInRam(const std::string& origin, const ObjectInfo& info, uint64_t index);

  // Returns true when the block is in either tier (no I/O, not counted).
  bool HasBlock(const std::string& origin, const ObjectInfo& info, uint64_t index) const;

  // Writes the `size` bytes `read` supplies as the object origin/path, write-through (the origin
  // has them before this returns). The body goes to the origin's executor through an
  // UploadPipe while it is read: an upload being written holds 1 MiB, whatever its size, and
  // one waiting for its origin's executor holds nothing and reads nothing yet. Its blocks are kept
  // for the cache under the new version (the next read is a hit) while all uploads together
  // hold at most upload_keep_bytes of them; an upload that would pass that keeps none, and its
  // first read comes from the origin. Returns the new metadata. `read` must outlive the
  // co_await.
  boost::asio::awaitable<Result<ObjectInfo>> Write(const std::string& origin,
                                                   const std::string& path, uint64_t size,
                                                   const BodyRead& read);

  // Removes the object origin/path at the origin (OK when there was none) and drops its cached
  // metadata here; its blocks are keyed by version, so no read can get them again.
  boost::asio::awaitable<Status> Delete(const std::string& origin, const std::string& path);

  // Lists the origin.
  boost::asio::awaitable<Result<ListPage>> List(const std::string& origin,
                                                const ListOptions& options);

  // Returns the number of blocks of an object of `size` bytes.
  uint64_t BlockCount(uint64_t size) const {
    return (size + options_.block_size - 1) / options_.block_size;
  }

 private:
  // One origin and what belongs to it: its counters and the executor its requests run on.
  struct OriginSlot {
    std::string name;
    std::unique_ptr<Origin> origin;
    Counter* requests;
    Counter* bytes;
    Counter* errors;
    Counter* stale;
    std::unique_ptr<BoundedExecutor> executor;
  };
  using BlockFlights = SingleFlight<Key128, Result<BlockRef>>;
  using StatFlights = SingleFlight<std::string, Result<ObjectInfo>>;

  Result<OriginSlot*> FindOrigin(const std::string& name);

  // Starts the fetch of a missing block (the claim's key), finishing the claim: from peers per
  // the router's plan on the peer executor, else (or when no peer answers) from the origin.
  // `source` (in the awaiting leader's frame) says where the block came from. On the loop.
  void StartFetch(OriginSlot& slot, const ObjectInfo& info, uint64_t index, bool forwarded,
                  BlockFlights::Claim claim, BlockSource* source);
  // Queues the origin read of block `index` (the claim's key) on the origin's executor.
  void PostOriginFetch(OriginSlot& slot, const ObjectInfo& info, uint64_t index,
                       BlockFlights::Claim claim);
  // Asks the plan's peers in turn for the block; NotFound when none had it.
  Result<BlockRef> FetchFromPeers(const std::string& origin_name, const ObjectInfo& info,
                                  uint64_t index, const Key128& key, const BlockPlan& plan);
  // Reads block `index` (`key`) from the origin with one ranged request. Blocking.
  Result<BlockRef> FetchFromOrigin(OriginSlot& slot, const ObjectInfo& info, uint64_t index,
                                   const Key128& key);

  // Writes the object with the bytes the pipe carries; caches its blocks as Write() says.
  // Blocking.
  Result<ObjectInfo> WriteToOrigin(OriginSlot& slot, const std::string& path, uint64_t size,
                                   UploadPipe& pipe);
  // Stats `path` at the origin and caches the answer. Blocking.
  Result<ObjectInfo> StatFromOrigin(OriginSlot& slot, const std::string& path);
  // Queues StatFromOrigin on the origin's executor, finishing the claim with its answer.
  void PostStat(OriginSlot& slot, const std::string& path, StatFlights::Claim claim);
  // Returns `result`, or, when it failed for an outage, the stale cached metadata (stale-if-error).
  Result<ObjectInfo> StaleOnError(OriginSlot& slot, const std::string& path,
                                  Result<ObjectInfo> result, StatNote* note);

  // Claims blocks [from, end) of `info` for a run, in order, stopping at the first one that is
  // not fetched from the origin by this node, is cached or is being fetched.
  std::vector<BlockFlights::Claim> ClaimBlocks(const std::string& origin_name,
                                               const ObjectInfo& info, uint64_t from, uint64_t end);
  // Takes one of the run slots, given back when the last copy of the result is dropped; null
  // when runs are off or as many runs as allowed stream.
  std::shared_ptr<void> TakeRunSlot();
  struct Run;
  class RunFill;
  // Reads the run's blocks (the first is block `index`) with one streamed origin request,
  // publishing each block as it completes; a failure finishes every block not yet published
  // with the error. Blocking; the caller holds a run slot.
  void StreamRun(OriginSlot& slot, const ObjectInfo& info, uint64_t index,
                 std::vector<BlockFlights::Claim> claims);
  // Opens the object with OpenStream, finishes `stated` with its metadata, and fills the blocks
  // it claims from 0 on. Blocking; the caller holds a run slot.
  void OpenRun(OriginSlot& slot, const std::string& path, StatFlights::Claim stated);

  const ObjectServiceOptions options_;
  BlockStore* const store_;  // not owned
  Router* const router_;     // not owned; may be null
  PeerClient* const peers_;  // not owned; may be null
  MetadataCache metadata_;
  BlockFlights block_flights_;
  StatFlights stat_flights_;

  Counter* hits_ram_;
  Counter* hits_ssd_;
  Counter* misses_;
  Counter* coalesced_;

  std::atomic<int> runs_active_{0};
  class UploadBlocks;
  std::atomic<uint64_t> upload_kept_bytes_{0};  // held by UploadBlocks, all uploads
  // The executors are declared last: stopped first, while everything their work uses exists.
  std::unique_ptr<BoundedExecutor> ssd_;
  std::unique_ptr<BoundedExecutor> peer_executor_;
  std::map<std::string, OriginSlot> origins_;
};

}  // namespace unicache

// ObjectService: the read path's logic, free of HTTP: object metadata through the metadata
// cache, blocks through the block store, misses through single-flight to the origin.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
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
};

// What resolving an object's metadata did besides returning it.
struct StatNote {
  bool opened = false;  // the read that brought the metadata fetched the object's first blocks
  bool stale = false;   // the origin could not be asked: this is the expired cached version
};

// Thread-safe. Methods named *Blocking do I/O and must run off the event loop; the others never
// block. Borrows the store and metrics (must outlive it); owns the origins.
class ObjectService {
 public:
  // `router` and `peers` (borrowed, may be null for a node on its own) send misses on blocks
  // owned by other members to those members.
  ObjectService(ObjectServiceOptions options, BlockStore* store,
                std::map<std::string, std::unique_ptr<Origin>> origins, MetricsRegistry* metrics,
                Router* router = nullptr, PeerClient* peers = nullptr);
  ~ObjectService();

  uint64_t block_size() const { return options_.block_size; }
  // Returns true when an origin of that name is configured.
  bool HasOrigin(const std::string& name) const { return origins_.count(name) > 0; }
  std::vector<std::string> OriginNames() const;

  // Returns the object's metadata from the cache, or from the origin (one Stat per object at a
  // time, whatever the fan-in). `refresh` skips the cache. When asking the origin fails for an
  // outage, metadata expired less than stale_if_error ago is returned instead (`note->stale`);
  // an object the origin says is gone or changed is never served stale.
  Result<ObjectInfo> StatBlocking(const std::string& origin, const std::string& path,
                                  bool refresh = false, StatNote* note = nullptr);

  // Returns the metadata as StatBlocking does, but for an object not in the metadata cache it
  // comes from a streamed read of the object's first fetch_run_bytes, which goes on filling
  // those blocks once the metadata is returned: one origin request where a Stat and a block
  // read take two. For reads from the start of an object. Falls back to StatBlocking when runs
  // are off, in a cluster of more than one member, or when every run thread is busy.
  // `note` (optional) says whether this call's read fetched the object's first blocks, and
  // whether the metadata is stale, as for StatBlocking.
  Result<ObjectInfo> OpenBlocking(const std::string& origin, const std::string& path,
                                  StatNote* note = nullptr);

  // Returns cached metadata without I/O, or nullopt.
  std::optional<ObjectInfo> CachedStat(const std::string& origin, const std::string& path);

  // Returns block `index` of the object `info` (a version resolved by StatBlocking), from the
  // store or, on a miss, from the block's owner: this node reads the origin when it is the
  // primary owner (or alone, or `forwarded` says another node sent the request), otherwise it
  // asks the owners in turn and falls back to the origin when none answers. Concurrent misses
  // on one block share one fetch. PreconditionFailed when the object no longer has
  // info.version (metadata is dropped).
  Result<BlockRef> GetBlockBlocking(const std::string& origin, const ObjectInfo& info,
                                    uint64_t index, BlockSource* source = nullptr,
                                    bool forwarded = false);

  // Returns true when the block would come from another member on a miss here.
  bool OwnedElsewhere(const std::string& origin, const ObjectInfo& info, uint64_t index) const;

  // Returns the block when it is in the RAM tier (counted as a hit), else nullptr. Never blocks.
  BlockRef GetBlockIfInRam(const std::string& origin, const ObjectInfo& info, uint64_t index);

  // Returns true when the block is in either tier (no I/O, not counted).
  bool HasBlock(const std::string& origin, const ObjectInfo& info, uint64_t index) const;

  // Writes `data` as the object origin/path (write-through: the origin has the bytes before this
  // returns), then caches its blocks under the new version so the next read is a hit. Returns
  // the new metadata.
  Result<ObjectInfo> WriteBlocking(const std::string& origin, const std::string& path,
                                   std::span<const std::byte> data);

  // Lists the origin.
  Result<ListPage> ListBlocking(const std::string& origin, const ListOptions& options);

  // Returns the number of blocks of an object of `size` bytes.
  uint64_t BlockCount(uint64_t size) const {
    return (size + options_.block_size - 1) / options_.block_size;
  }

 private:
  struct OriginMetrics {
    Counter* requests;
    Counter* bytes;
    Counter* errors;
    Counter* stale;
  };
  Result<Origin*> FindOrigin(const std::string& name);
  // Fetches a missing block from peers per the router's plan, then the origin.
  Result<BlockRef> FetchMissing(const std::string& origin_name, Origin* origin,
                                const ObjectInfo& info, uint64_t index, const Key128& key,
                                bool forwarded, BlockSource* source);
  Result<BlockRef> FetchFromOrigin(const std::string& origin_name, Origin* origin,
                                   const ObjectInfo& info, uint64_t index, const Key128& key);

  // Stats `path` at the origin and caches the answer.
  Result<ObjectInfo> StatFromOrigin(const std::string& origin_name, Origin* origin,
                                    const std::string& path);
  // Returns `result`, or, when it failed for an outage, the stale cached metadata (stale-if-error).
  Result<ObjectInfo> StaleOnError(const std::string& origin_name, const std::string& path,
                                  Result<ObjectInfo> result, StatNote* note);

  using BlockFlights = SingleFlight<Key128, Result<BlockRef>>;
  // Claims blocks [from, end) of `info` for a run, in order, stopping at the first one that is
  // not fetched from the origin by this node, is cached or is being fetched.
  std::vector<BlockFlights::Claim> ClaimBlocks(const std::string& origin_name,
                                               const ObjectInfo& info, uint64_t from, uint64_t end);
  // Claims the blocks after `index` that a run from it may read: consecutive, fetched from the
  // origin by this node, not cached, not being fetched. Empty when runs are off or all run
  // threads are busy; otherwise a run thread is reserved for FetchRun.
  std::vector<BlockFlights::Claim> ClaimRun(const std::string& origin_name, const ObjectInfo& info,
                                            uint64_t index);
  // Reads block `index` (`key`) and the claimed ones after it with one streamed origin request on a
  // run thread; returns block `index` as soon as it is in.
  Result<BlockRef> FetchRun(const std::string& origin_name, Origin* origin, const ObjectInfo& info,
                            uint64_t index, const Key128& key,
                            std::vector<BlockFlights::Claim> claims);
  struct Run;
  // The run thread's part of FetchRun: publishes each block as it completes; a failure
  // finishes every block not yet published with the error.
  void StreamRun(const std::string& origin_name, Origin* origin, const ObjectInfo& info,
                 uint64_t index, Run& run);
  class RunFill;
  // The run thread's part of OpenBlocking: opens the object with OpenStream, hands its metadata
  // to `opened`, and fills the blocks it claims from 0 on.
  void OpenRun(const std::string& origin_name, Origin* origin, const std::string& path,
               std::promise<Result<ObjectInfo>>& opened);

  const ObjectServiceOptions options_;
  BlockStore* const store_;  // not owned
  Router* const router_;     // not owned; may be null
  PeerClient* const peers_;  // not owned; may be null
  const std::map<std::string, std::unique_ptr<Origin>> origins_;
  std::map<std::string, OriginMetrics> origin_metrics_;
  MetadataCache metadata_;
  BlockFlights block_flights_;
  SingleFlight<std::string, Result<ObjectInfo>> stat_flights_;

  Counter* hits_ram_;
  Counter* hits_ssd_;
  Counter* misses_;
  Counter* coalesced_;

  std::atomic<int> runs_active_{0};
  // Threads that stream runs (null when runs are off). Declared last: destroyed first, while
  // everything a run uses still exists.
  std::unique_ptr<boost::asio::thread_pool> run_pool_;
};

}  // namespace unicache

// unicache native client (C++): reads objects straight from the node that owns each block (the
// direct read path). The client learns the membership from any node (GET /v1/members) or from
// etcd, computes every block's owners with the same rendezvous hashing as the nodes, and reads
// blocks from them in parallel, with readahead for sequential readers. A member that refuses
// connections or times out is skipped for the next owner; a read fails only when no member can
// serve it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "unicache/status.h"

namespace unicache {

struct ClientOptions {
  // Nodes to learn the membership from: "HOST:PORT,HOST:PORT". At least one of peers/discovery.
  std::string peers;
  // "etcd:http://HOST:PORT[,...][/prefix]" or "dns:NAME[:PORT]" (as `unicache serve`).
  std::string discovery;
  size_t parallelism = 8;       // block requests in flight per Read()
  size_t readahead_blocks = 4;  // blocks prefetched ahead of a sequential reader (per handle)
  std::chrono::milliseconds timeout{30000};            // per block request
  std::chrono::milliseconds membership_refresh{5000};  // how often the view is re-read
};

// What a node says about an object.
struct ObjectStat {
  std::string path;
  uint64_t size = 0;
  std::string version;  // the ETag, unquoted; reads pin it with If-Match
  int64_t mtime_ms = 0;
};

struct ListEntry {
  std::string path;  // an object, or a "directory" ending in '/' when listed with a delimiter
  uint64_t size = 0;
  std::string version;
  int64_t mtime_ms = 0;
  bool is_prefix = false;
};

struct ListResult {
  std::vector<ListEntry> entries;
  std::string next_token;  // "" on the last page
};

// Reads one object version, detecting sequential access: after two consecutive reads that
// continue each other it prefetches the next blocks (ClientOptions::readahead_blocks) in the
// background; random access prefetches nothing. Not thread-safe: one per open file / reader.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Reads up to dst.size() bytes at `offset`; returns bytes read (0 at or past the end).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> dst) = 0;
  virtual const ObjectStat& stat() const = 0;
};

// A cluster-aware client. Thread-safe: one Client serves many threads.
class Client {
 public:
  // Connects: fetches the membership once (fails when no listed node answers).
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  virtual ~Client() = default;

  // Returns the object's metadata (cached briefly).
  virtual Result<ObjectStat> Stat(const std::string& origin, const std::string& path) = 0;

  // Reads up to dst.size() bytes at `offset` of `object` (the version Stat() returned) straight
  // from the owners of the blocks involved, in parallel. Returns the bytes read (short only at
  // the end of the object). PreconditionFailed when the object changed since Stat().
  virtual Result<size_t> Read(const std::string& origin, const ObjectStat& object, uint64_t offset,
                              std::span<std::byte> dst) = 0;

  // Returns a reader of `object` with sequential readahead. The reader must not outlive the client.
  virtual std::unique_ptr<ObjectReader> Open(const std::string& origin,
                                             const ObjectStat& object) = 0;

  // Lists one page of origin/prefix; delimiter "" (flat) or "/" (one level).
  virtual Result<ListResult> List(const std::string& origin, const std::string& prefix,
                                  const std::string& delimiter, const std::string& token,
                                  size_t max_keys = 1000) = 0;

  // Writes a whole object through the cluster to the origin (write-through); returns its new
  // metadata. The cluster keeps the blocks, so the next read is a hit.
  virtual Result<ObjectStat> Write(const std::string& origin, const std::string& path,
                                   std::span<const std::byte> data) = 0;

  // Returns the block size the cluster uses.
  virtual uint64_t block_size() const = 0;
};

}  // namespace unicache

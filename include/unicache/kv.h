// unicache KV cache client (C++), for inference engines offloading KV-cache blocks. Talks HTTP to
// any node of the cluster; the node splits batches by owner (one round trip per owner) and merges
// the answers in request order. Wire format and semantics: docs/KV.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "unicache/status.h"
#include "unicache/token_hash.h"

namespace unicache {

struct KvClientOptions {
  std::string peers = "127.0.0.1:8470";  // HOST:PORT[,HOST:PORT...]: tried in order
  std::chrono::milliseconds timeout{30000};
  // Shared-memory path, for a client on the same host as a node: the node's --kv-socket and
  // the size of the region to create and register (e.g. the engine's host KV pool). Empty:
  // HTTP only.
  std::string local_socket;
  size_t segment_bytes = 0;
};

// One value of a batch put. Non-owning: the bytes must stay valid during the call.
struct KvPutSpec {
  std::string_view key;
  std::span<const std::byte> value;
  std::chrono::milliseconds ttl{0};  // 0: the namespace default; negative: never expires
};

// Per-key outcome of a batch get: `status` is ok, NotFound (miss, including keys on dead owners)
// or an error; `size` is the value's length when ok.
struct KvGetOutcome {
  Status status;
  size_t size = 0;
};

// Thread-safe (connections are pooled).
//
// With `local_socket` set, the client creates a shared-memory region of `segment_bytes`
// (segment()) and registers it with the local node once. Calls whose value buffers all lie inside
// that region go over the shared-memory path: the node copies values straight into them (gets)
// and out of them (puts), and only small descriptors cross the socket. Calls with buffers
// elsewhere use HTTP. BatchExists, PrefixMatch and Release always use the socket then.
class KvClient {
 public:
  static Result<std::unique_ptr<KvClient>> Connect(const KvClientOptions& options);
  ~KvClient();

  // The registered shared-memory region; empty without `local_socket`.
  std::span<std::byte> segment() const;

  // Publishes `value` under `key` (visible only once complete; a second put of the key keeps
  // the first value). InvalidArgument / NotFound (namespace) / ResourceExhausted (quota).
  Status Put(std::string_view ns, std::string_view key, std::span<const std::byte> value,
             std::chrono::milliseconds ttl = std::chrono::milliseconds(0));
  // Reads the value into `dst` (no intermediate copy); returns its size. NotFound on a miss,
  // ResourceExhausted when `dst` is too small. `lease`: releases that lease after the read.
  Result<size_t> Get(std::string_view ns, std::string_view key, std::span<std::byte> dst,
                     std::string_view lease = {});
  // Returns the value as a string; NotFound on a miss.
  Result<std::string> Get(std::string_view ns, std::string_view key);
  // Removes the key everywhere; returns whether it existed.
  Result<bool> Delete(std::string_view ns, std::string_view key);

  // Publishes many values in one request; returns one Status per item, in order.
  Result<std::vector<Status>> BatchPut(std::string_view ns, std::span<const KvPutSpec> items);
  // Reads many values, value i into dsts[i] (scatter); returns one outcome per key, in order.
  Result<std::vector<KvGetOutcome>> BatchGet(std::string_view ns, std::span<const std::string> keys,
                                             std::span<const std::span<std::byte>> dsts,
                                             std::string_view lease = {});
  // Returns, per key, whether it is cached (no side effects).
  Result<std::vector<bool>> BatchExists(std::string_view ns, std::span<const std::string> keys);

  struct PrefixMatchResult {
    size_t matched = 0;  // leading keys present cluster-wide (stops at the first miss)
    std::string lease;   // "" unless a lease was asked for
  };
  // Returns how many leading `keys` are cached. With lease > 0, the matched values are kept from
  // eviction until read with the lease id, Release()d, or the lease expires.
  Result<PrefixMatchResult> PrefixMatch(
      std::string_view ns, std::span<const std::string> keys,
      std::chrono::milliseconds lease = std::chrono::milliseconds(0));
  // Drops a lease on every node; returns whether any node held it.
  Result<bool> Release(std::string_view ns, std::string_view lease);

  // Returns GET /v1/kv (JSON stats of every member) and GET /v1/kv/<ns> (JSON key list).
  Result<std::string> StatsJson();
  Result<std::string> ListJson(std::string_view ns, size_t limit = 1000);

 private:
  struct Impl;
  explicit KvClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace unicache

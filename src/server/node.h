// Node: one running unicache daemon (`unicache serve`): origins, block store, object service
// and the HTTP front-end, assembled from NodeOptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"

namespace unicache {

struct NodeOptions {
  std::string listen = "127.0.0.1:8470";  // HOST:PORT; port 0 picks a free one
  std::vector<std::string> origins;       // NAME=URI or a bare directory (named "local")
  std::string cache_dir;                  // SSD tier directory (required)
  uint64_t ram_bytes = 1ull << 30;
  uint64_t ssd_bytes = 10ull << 30;
  uint64_t block_size = 4ull << 20;
  std::chrono::milliseconds metadata_ttl{10000};
  // How long past the TTL cached objects are still served while their origin is unreachable.
  std::chrono::milliseconds stale_if_error{std::chrono::hours(1)};
  bool immutable = false;  // origins never change: metadata is kept forever
  size_t io_threads = 0;   // event-loop threads; 0 = DefaultEventLoops() (half the cores)
  // Threads and bounded queues per resource, so one that stalls delays only its own work.
  size_t origin_threads = 64;  // per origin: its requests in flight
  size_t ssd_threads = 16;     // reads of blocks from the SSD tier
  size_t peer_threads = 32;    // block transfers from other members
  size_t kv_threads = 16;      // KV requests that ask other members
  // Work that waited this long for a thread of its resource is refused with 503 + Retry-After.
  std::chrono::milliseconds queue_deadline{10000};
  size_t readahead_blocks = 8;  // parallel block fetches ahead of a sequential reader
  uint64_t fetch_run_bytes =
      0;  // bytes of blocks one streamed origin request may fill; 0 = one block
  size_t max_connections = 4096;
  // Largest object upload. Uploads stream to the origin, so this bounds no memory: it is the
  // largest single PUT the cloud stores take (S3: 5 GiB; Azure Put Blob: 5,000 MiB).
  uint64_t max_upload_bytes = 5ull << 30;

  // Cluster. With neither peers nor discovery the node is a cluster of one.
  std::string peers;      // --peers HOST:PORT,... (static membership; include this node)
  std::string discovery;  // --discovery dns:NAME[:PORT] | etcd:http://H:P[,...][/prefix]
  std::string advertise;  // HOST:PORT other members and clients dial; default: --listen
  std::string node_id;    // default: the advertised address
  double weight = 1.0;    // share of blocks relative to other members
  std::string zone;
  size_t replicas = 1;                     // owners per block
  std::vector<std::string> replica_rules;  // ORIGIN[/PREFIX]=N
  uint32_t hot_threshold = 8;              // forwards/s of one block before a local copy is kept
  std::chrono::milliseconds etcd_ttl{10000};
  // How long a member that left stays in the view (DNS and etcd discovery): a restart or a flap
  // within it moves no blocks.
  std::chrono::milliseconds member_grace{15000};

  // S3-compatible endpoint (docs/S3.md); off when s3_listen is empty.
  std::string s3_listen;                // HOST:PORT
  std::string s3_domain;                // virtual-hosted style: BUCKET.DOMAIN
  std::string s3_keys;                  // the keys file: ACCESS SECRET BUCKET[,BUCKET...]|*
  bool s3_anonymous = false;            // unsigned requests may read
  std::string s3_region = "us-east-1";  // what GetBucketLocation answers

  // Inference KV cache (docs/KV.md).
  std::vector<std::string> kv_namespaces;  // NAME=QUOTA[,ttl=DURATION][,replicas=N]
  uint64_t kv_ram_bytes = 0;               // cap on all KV values; 0 = sum of the quotas
  // Unix socket of the KV shared-memory path; "" = cache_dir/kv.sock when namespaces are set,
  // "off" = none.
  std::string kv_socket;

  // A stopping node (SIGTERM: Drain()) keeps taking connections this long while it says it is
  // not ready, then waits at most drain_timeout in all for the requests it is serving.
  std::chrono::milliseconds drain_delay{0};
  std::chrono::milliseconds drain_timeout{30000};
};

// Checks options for mistakes a user can fix (sizes, block size bounds, listen address, origin
// specs); returns InvalidArgument saying what to change.
Status ValidateNodeOptions(const NodeOptions& options);

// Splits a --listen value "HOST:PORT" ("[::1]:80" for IPv6); port 0 means "pick a free one".
Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& text);

// Thread-safe. Destroying the node stops it.
class Node {
 public:
  // Opens origins and the store (recovering the SSD tier), then starts serving.
  static Result<std::unique_ptr<Node>> Start(const NodeOptions& options);
  ~Node();

  uint16_t port() const;
  // The S3 endpoint's port; 0 without one.
  uint16_t s3_port() const;
  // Returns "HOST:PORT" as clients should dial it.
  std::string address() const;
  MetricsRegistry& metrics();
  // Drains before a stop: /readyz answers 503 and the node leaves the membership at once; for
  // `delay` it still serves new connections (each response closes its connection), so load
  // balancers and clients notice; then it takes no new connections, closes idle ones, and waits
  // for the requests it is serving, `timeout` in all. Then call Stop(). Idempotent.
  void Drain(std::chrono::milliseconds delay, std::chrono::milliseconds timeout);
  // Stops serving and waits for in-flight work. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace unicache

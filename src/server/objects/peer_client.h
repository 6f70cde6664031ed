// PeerClient: fetches one block from another node (the block's owner) over the native HTTP API.
#pragma once

#include <chrono>
#include <string>

#include "cluster/member.h"
#include "common/http_client.h"
#include "common/metrics.h"
#include "origin/origin.h"
#include "store/block.h"

namespace unicache {

// Thread-safe (HttpClient pools connections per peer).
class PeerClient {
 public:
  // `self_id` is sent in kForwardedHeader. `metrics` (borrowed) gets
  // unicache_peer_bytes_total{direction="in"}.
  PeerClient(std::string self_id, MetricsRegistry* metrics,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Returns block `index` (of `block_size`-byte blocks) of object `info` from `peer`, pinned to
  // info.version with If-Match. Unavailable/DeadlineExceeded when the peer is down or slow;
  // PreconditionFailed when the peer sees another version; other errors as the peer says.
  Result<BlockRef> FetchBlock(const Member& peer, const std::string& origin, const ObjectInfo& info,
                              uint64_t index, uint64_t block_size);

 private:
  const std::string self_id_;
  const std::chrono::milliseconds timeout_;
  Counter* bytes_in_;
  HttpClient http_;
};

}  // namespace unicache

// PeerClient: reads one block of an object from another node (the block's owner) over the
// native HTTP API, checked against the question like every client read.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "cluster/member.h"
#include "common/http_client.h"
#include "common/metrics.h"
#include "common/object_info.h"

namespace unicache {

// Thread-safe (HttpClient pools connections per peer).
class PeerClient {
 public:
  // `self_id` is sent in kForwardedHeader. `metrics` (borrowed) gets
  // unicache_peer_bytes_total{direction="in"}.
  PeerClient(std::string self_id, MetricsRegistry* metrics,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Reads dst.size() bytes at `offset` of object `info` (a block of it) from `peer` into `dst`,
  // pinned to info.version with If-Match. Unavailable/DeadlineExceeded when the peer is down or
  // slow, or its answer is not the one asked for; PreconditionFailed when the peer sees another
  // version; other errors as the peer says. REQUIRES: the range lies within the object.
  Status FetchBlock(const Member& peer, const std::string& origin, const ObjectInfo& info,
                    uint64_t offset, std::span<std::byte> dst);

 private:
  const std::string self_id_;
  const std::chrono::milliseconds timeout_;
  Counter* bytes_in_;
  HttpClient http_;
};

}  // namespace unicache

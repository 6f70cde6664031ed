// PeerClient: reads one block of an object from another node (the block's owner) over the
// native HTTP API, checked against the question like every client read.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "cluster/member.h"
#include "common/http_client.h"
#include "common/in_flight_limit.h"
#include "common/metrics.h"
#include "common/object_info.h"

namespace unicache {

// Thread-safe (HttpClient pools connections per peer).
class PeerClient {
 public:
  // `self_id` is sent in kForwardedHeader. `metrics` (borrowed) gets
  // unicache_peer_bytes_total{direction="in"}. At most `max_per_peer` transfers run to one peer
  // at once, so a slow or hung peer holds only that many of the caller's threads.
  PeerClient(std::string self_id, MetricsRegistry* metrics,
             std::chrono::milliseconds timeout = std::chrono::seconds(30),
             size_t max_per_peer = 16);

  // Reads dst.size() bytes at `offset` of object `info` (a block of it) from `peer` into `dst`,
  // pinned to info.version with If-Match. Unavailable/DeadlineExceeded when the peer is down or
  // slow, or its answer is not the one asked for; PreconditionFailed when the peer sees another
  // version; ResourceExhausted (overloaded) at once, without asking, when max_per_peer
  // transfers to the peer are in flight already; other errors as the peer says. REQUIRES: the
  // range lies within the object.
  Status FetchBlock(const Member& peer, const std::string& origin, const ObjectInfo& info,
                    uint64_t offset, std::span<std::byte> dst);

  // Aborts the transfers in flight and refuses later ones: the node is stopping.
  void Cancel() { http_.Cancel(); }

 private:
  const std::string self_id_;
  const std::chrono::milliseconds timeout_;
  InFlightLimit per_peer_;
  Counter* bytes_in_;
  HttpClient http_;
};

}  // namespace unicache

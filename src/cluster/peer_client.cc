#include "cluster/peer_client.h"

#include "common/http_answer.h"
#include "common/object_path.h"
#include "common/status_http.h"

namespace unicache {

PeerClient::PeerClient(std::string self_id, MetricsRegistry* metrics,
                       std::chrono::milliseconds timeout, size_t max_per_peer)
    : self_id_(std::move(self_id)), timeout_(timeout), per_peer_(max_per_peer) {
  bytes_in_ = &metrics->GetCounter("unicache_peer_bytes_total", {{"direction", "in"}},
                                   "Block bytes exchanged with other nodes.");
}

Status PeerClient::FetchBlock(const Member& peer, const std::string& origin, const ObjectInfo& info,
                              uint64_t offset, std::span<std::byte> dst) {
  std::optional<InFlightLimit::Slot> slot = per_peer_.TryAcquire(peer.id);
  if (!slot) {
    return ResourceExhausted("peer " + peer.id + " has " + std::to_string(per_peer_.max_per_key()) +
                             " transfers in flight already")
        .WithDetail(StatusDetail::kOverloaded);
  }
  const uint64_t first = offset;
  const uint64_t length = dst.size();
  HttpRequest req;
  req.url = "http://" + peer.address + "/v1/objects/" + PercentEncode(origin) + "/" +
            PercentEncode(info.path);
  req.headers.emplace_back(
      "Range", "bytes=" + std::to_string(first) + "-" + std::to_string(first + length - 1));
  req.headers.emplace_back("If-Match", QuoteEtag(info.version));
  req.headers.emplace_back(kForwardedHeader, self_id_);
  req.timeout = timeout_;
  req.connect_timeout = std::chrono::milliseconds(1000);
  req.body_sink = dst;
  req.check_head = [&](const HttpResponse& head) {
    return CheckRangeAnswer(head, RangeQuestion{first, length, info.size, info.version},
                            "peer " + peer.id + " " + origin + "/" + info.path);
  };
  Result<HttpResponse> resp = http_.Send(req);
  if (!resp.ok()) return resp.status().WithContext("peer " + peer.id);
  if (resp->status != 206 && resp->status != 200) {
    return StatusFromAnswer(*resp, "peer " + peer.id);
  }
  if (resp->body_bytes != length) {
    return Unavailable("peer " + peer.id + " sent " + std::to_string(resp->body_bytes) + " of " +
                       std::to_string(length) + " bytes");
  }
  bytes_in_->Inc(length);
  return Status::Ok();
}

}  // namespace unicache

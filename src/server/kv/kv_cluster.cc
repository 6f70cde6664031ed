#include "server/kv/kv_cluster.h"

#include <map>

#include "common/http_answer.h"

namespace unicache {

KvCluster::KvCluster(Router* router, MetricsRegistry* metrics) : router_(router) {
  peer_in_ = &metrics->GetCounter("unicache_peer_bytes_total", {{"direction", "in"}},
                                  "Block bytes exchanged with other nodes.");
  peer_out_ = &metrics->GetCounter("unicache_peer_bytes_total", {{"direction", "out"}},
                                   "Block bytes exchanged with other nodes.");
}

KvOwners KvCluster::OwnersOf(const Placement& placement, std::string_view ns, std::string_view key,
                             size_t replicas) {
  KvOwners out;
  out.replicas = placement.OwnerCount(replicas);
  out.candidates =
      router_->health().Order(placement.Ranked(KvPlacementKey(ns, key), out.replicas, 1));
  return out;
}

std::vector<KvPart> KvCluster::Split(const std::vector<KvOwners>& owners,
                                     std::span<const size_t> indices, size_t rank) const {
  std::vector<KvPart> parts;
  std::map<const Member*, size_t> part_of;
  for (size_t i : indices) {
    const std::vector<const Member*>& c = owners[i].candidates;
    const Member* m = nullptr;
    if (!c.empty()) {
      if (rank >= c.size()) continue;
      m = c[rank];
    } else if (rank > 0) {
      continue;  // an empty ring: this node alone, once
    }
    auto [it, added] = part_of.try_emplace(m, parts.size());
    if (added) parts.push_back(KvPart{m, IsSelf(m), {}});
    parts[it->second].indices.push_back(i);
  }
  return parts;
}

Result<HttpResponse> KvCluster::Send(const Member& peer, const std::string& method,
                                     const std::string& target, std::string body) {
  HttpRequest req;
  req.method = method;
  req.url = "http://" + peer.address + target;
  req.headers.emplace_back(kForwardedHeader, router_->self().id);
  req.headers.emplace_back("Content-Type", "application/octet-stream");
  req.connect_timeout = std::chrono::milliseconds(1000);
  req.timeout = std::chrono::milliseconds(30000);
  peer_out_->Inc(body.size());
  req.body = std::move(body);
  Result<HttpResponse> resp = http_.Send(req);
  router_->health().Report(peer.id, resp.status());
  if (resp.ok()) {
    peer_in_->Inc(resp->body_bytes);
    if (resp->status >= 500 && resp->status != 507) {
      return Unavailable("peer " + peer.id + " answered HTTP " + std::to_string(resp->status));
    }
  }
  return resp;
}

std::vector<Member> KvCluster::Members() const { return router_->placement()->members(); }

}  // namespace unicache

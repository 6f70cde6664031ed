#include "sim/membership_traffic.h"

#include <map>

#include "cluster/cluster_info.h"
#include "sim/fleet.h"

namespace unicache::sim {
namespace {

constexpr const char* kPolled = "etcd polled (before)";
constexpr const char* kWatched = "etcd watched";
constexpr const char* kWholeViews = "clients: whole views";
constexpr const char* kDeltas = "clients: changes since";

}  // namespace

WireSizes MeasureWireSizes(size_t members) {
  const MemberView view{7, MakeFleet(members, 1, /*mixed=*/true)};
  WireSizes sizes;
  for (const Member& m : view.members) {
    sizes.member_record += MemberToJson(m).size() + ("/unicache/members/" + m.id).size();
    for (uint32_t slot : m.slots) {
      sizes.slot_claims += ("/unicache/slots/" + std::to_string(slot)).size() + m.id.size();
    }
  }
  sizes.member_record /= std::max<size_t>(1, members);
  sizes.slot_claims /= std::max<size_t>(1, members);
  sizes.full_view = ClusterInfoToJson(view, ReplicaPolicy{}, 4 << 20, "node-0").size();
  const ViewChanges none = DiffViews(view, view);
  sizes.unchanged = ClusterInfoToJson(view, ReplicaPolicy{}, 4 << 20, "node-0", &none).size();
  return sizes;
}

std::vector<MembershipTrafficRow> Traffic(const MembershipTrafficOptions& o, size_t members,
                                          const WireSizes& w) {
  const double n = static_cast<double>(members);
  const double changes = n * o.changes_per_member_day / 86400;        // view changes a second
  const double keepalives = 3 / o.ttl_s + 3 / (o.ttl_s + o.grace_s);  // per member a second
  const double record = static_cast<double>(w.member_record);
  const double egress_cap = o.etcd_egress_gbps * 1e9 / 8;
  auto breaks = [&](double bytes, double requests) -> std::string {
    if (bytes > egress_cap) return "etcd's NIC";
    if (requests > o.etcd_max_requests) return "etcd's request rate";
    return "";
  };
  std::vector<MembershipTrafficRow> rows;
  // Before: every member reads the whole prefix every poll, and renews its one lease.
  {
    const double per_member = n * record / o.etcd_poll_s;
    const double requests = n / o.etcd_poll_s + n * 3 / o.ttl_s;
    rows.push_back({members, kPolled, n * per_member, requests, per_member, 0,
                    breaks(n * per_member, requests)});
  }
  // Now: keep-alives for two leases, and each change sent once to every watcher.
  {
    const double per_member =
        keepalives * static_cast<double>(o.keepalive_bytes) + changes * record;
    const double requests = n * keepalives + changes * 2;
    rows.push_back({members, kWatched, n * per_member, requests, per_member, 0,
                    breaks(n * per_member, requests)});
  }
  // Clients ask members (not etcd), so only the members' egress grows with them.
  rows.push_back(
      {members, kWholeViews, 0, 0, 0, static_cast<double>(w.full_view) / o.client_refresh_s, ""});
  rows.push_back({members, kDeltas, 0, 0, 0,
                  static_cast<double>(w.unchanged) / o.client_refresh_s + changes * record, ""});
  return rows;
}

double ColdStartBytes(size_t members, const WireSizes& w) {
  const double n = static_cast<double>(members);
  return n * n * static_cast<double>(w.member_record + w.slot_claims);
}

std::vector<std::pair<std::string, size_t>> BreakingSizes(const MembershipTrafficOptions& o) {
  std::vector<std::pair<std::string, size_t>> out;
  // The record size hardly depends on the member count: measure it once.
  const WireSizes w = MeasureWireSizes(1000);
  for (const char* design : {kPolled, kWatched}) {
    size_t lo = 1, hi = 10'000'000;
    auto broken = [&](size_t n) {
      for (const auto& row : Traffic(o, n, w)) {
        if (row.design == design) return !row.breaks.empty();
      }
      return false;
    };
    if (!broken(hi)) {
      out.emplace_back(design, hi);
      continue;
    }
    while (lo + 1 < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      (broken(mid) ? hi : lo) = mid;
    }
    out.emplace_back(design, lo);
  }
  return out;
}

std::vector<MembershipTrafficRow> RunMembershipTraffic(
    const MembershipTrafficOptions& o, const std::function<void(const std::string&)>& progress) {
  std::vector<MembershipTrafficRow> rows;
  for (size_t n : o.sizes) {
    if (progress) progress("membership: encoding a view of " + std::to_string(n) + " members");
    for (auto& row : Traffic(o, n, MeasureWireSizes(n))) rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace unicache::sim

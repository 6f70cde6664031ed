// `unicache sim membership`: what following the membership costs at fleet size, for etcd
// polled (before #15), etcd watched (now), and clients following members' views whole or as
// changes (GET /v1/members?since=VERSION); what breaks first, and at what size. Message sizes
// come from the real encodings (MemberToJson, ClusterInfoToJson).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace unicache::sim {

struct MembershipTrafficOptions {
  std::vector<size_t> sizes = {1000, 10000, 100000};
  double ttl_s = 10;                  // --etcd-ttl: member lease keep-alive every ttl/3
  double grace_s = 15;                // --member-grace: slot lease keep-alive every (ttl+grace)/3
  double etcd_poll_s = 1;             // the poll interval before #15
  double client_refresh_s = 5;        // ClientOptions::membership_refresh
  double changes_per_member_day = 1;  // restarts, joins and leaves
  uint64_t keepalive_bytes = 40;      // one LeaseKeepAliveResponse
  double etcd_egress_gbps = 10;       // what etcd's NIC sends
  double etcd_max_requests = 50000;   // requests a second etcd serves (etcd's benchmark order)
};

struct MembershipTrafficRow {
  size_t members = 0;
  std::string design;
  double etcd_bytes_per_s = 0;        // etcd's egress, all members together
  double etcd_requests_per_s = 0;     // requests to etcd
  double per_member_bytes_per_s = 0;  // what each member receives to follow the view
  double per_client_bytes_per_s = 0;  // what each client receives to follow the view
  std::string breaks;                 // the first limit hit, "" when none
};

// The sizes of the real encodings at `members` members (mixed weights, slots held).
struct WireSizes {
  uint64_t member_record = 0;  // one etcd value (MemberToJson) with its key
  uint64_t slot_claims = 0;    // one member's slot claims (keys and values), on average
  uint64_t full_view = 0;      // GET /v1/members whole
  uint64_t unchanged = 0;      // GET /v1/members?since=CURRENT
};
WireSizes MeasureWireSizes(size_t members);

// Returns the traffic of each design at `members` members with the wire sizes given.
std::vector<MembershipTrafficRow> Traffic(const MembershipTrafficOptions& options, size_t members,
                                          const WireSizes& sizes);

// Returns the bytes etcd sends when all `members` start at once: each reads the members prefix
// and the slot claims once (EtcdMembership::Start).
double ColdStartBytes(size_t members, const WireSizes& sizes);

// Returns, for each design, the largest member count (to 10 million) before a limit breaks.
std::vector<std::pair<std::string, size_t>> BreakingSizes(const MembershipTrafficOptions& options);

std::vector<MembershipTrafficRow> RunMembershipTraffic(
    const MembershipTrafficOptions& options,
    const std::function<void(const std::string&)>& progress);

}  // namespace unicache::sim

// Member and MemberView: who is in the cluster, and the JSON form served at GET /v1/members.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace unicache {

// Limits on the placement slots a member holds (cluster/slot_table.h): a member holds at most
// kMaxMemberSlots, each numbered below kMaxSlotNumber, so a table stays at most 64 MiB.
inline constexpr size_t kMaxMemberSlots = 4096;
inline constexpr uint32_t kMaxSlotNumber = 1u << 24;

// One running `unicache serve`. Value type; thread-compatible.
struct Member {
  std::string id;       // unique in the cluster; the static and DNS providers use the address
  std::string address;  // host:port, or [v6]:port
  double weight = 1.0;  // relative share of blocks; finite and > 0
  std::string zone;     // optional failure domain
  // The placement slots it holds (SlotTable), claimed through the membership (etcd) or given
  // by it (a static list); empty where no member can claim (DNS), and then the view is placed
  // by rendezvous hashing. Distinct, each < kMaxSlotNumber, at most kMaxMemberSlots.
  std::vector<uint32_t> slots;

  friend bool operator==(const Member&, const Member&) = default;
};

// A versioned snapshot of the members, sorted by id. Shared immutable through
// shared_ptr<const MemberView>; thread-compatible.
struct MemberView {
  uint64_t version = 0;  // grows each time the member set changes
  std::vector<Member> members;

  friend bool operator==(const MemberView&, const MemberView&) = default;
};

// A parsed host:port. Value type.
struct HostPort {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
};

// Parses "host:port" or "[v6addr]:port": the host must be non-empty and the port in 1..65535.
// Returns InvalidArgument naming `address` otherwise.
Result<HostPort> ParseHostPort(std::string_view address);

// Returns "host:port", bracketing hosts that contain ':' (IPv6).
std::string FormatHostPort(std::string_view host, uint16_t port);

// Checks the fields of `m`: non-empty id, a valid address, a finite weight > 0, valid slots.
Status ValidateMember(const Member& m);

// Returns `m` as a JSON object {"id","address","weight","zone"}, plus "slots" when it holds any.
std::string MemberToJson(const Member& m);
// Parses and validates what MemberToJson writes; "weight" defaults to 1 and "zone" to "".
Result<Member> MemberFromJson(std::string_view json);

// Returns {"version":N,"members":[{"id","address","weight","zone"},...]}.
std::string MemberViewToJson(const MemberView& view);
// Parses and validates what MemberViewToJson writes; rejects duplicate ids and sorts by id.
Result<MemberView> MemberViewFromJson(std::string_view json);

}  // namespace unicache

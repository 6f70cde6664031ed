#include "cluster/static_membership.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "cluster/slot_table.h"

namespace unicache {

Result<std::vector<Member>> ParsePeerList(std::string_view peers) {
  if (peers.empty()) return InvalidArgument("--peers is empty; expected host:port[,host:port...]");
  std::vector<Member> members;
  std::set<std::string> seen;
  size_t start = 0;
  while (start <= peers.size()) {
    size_t comma = peers.find(',', start);
    if (comma == std::string_view::npos) comma = peers.size();
    std::string_view entry = peers.substr(start, comma - start);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) {
      return InvalidArgument("--peers \"" + std::string(peers) + "\" has an empty entry");
    }
    Result<HostPort> hp = ParseHostPort(entry);
    if (!hp.ok()) return hp.status().WithContext("--peers");
    std::string address = FormatHostPort(hp->host, hp->port);
    if (!seen.insert(address).second) {
      return InvalidArgument("--peers lists " + address + " more than once");
    }
    members.push_back(Member{.id = address, .address = address});
    start = comma + 1;
  }
  return members;
}

Result<std::unique_ptr<StaticMembership>> StaticMembership::Create(std::string_view peers) {
  ASSIGN_OR_RETURN(std::vector<Member> members, ParsePeerList(peers));
  return FromMembers(std::move(members));
}

Result<std::unique_ptr<StaticMembership>> StaticMembership::FromMembers(
    std::vector<Member> members) {
  std::set<std::string> ids;
  for (const Member& m : members) {
    RETURN_IF_ERROR(ValidateMember(m));
    if (!ids.insert(m.id).second) return InvalidArgument("duplicate member id " + m.id);
  }
  // A static list never changes, so slots numbered in id order are the same on every node
  // given the list, in any order.
  std::sort(members.begin(), members.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  uint32_t next = 0;
  for (Member& m : members) {
    if (!m.slots.empty()) continue;
    for (size_t k = SlotsForWeight(m.weight); k > 0; --k) m.slots.push_back(next++);
  }
  return std::unique_ptr<StaticMembership>(new StaticMembership(std::move(members)));
}

Status StaticMembership::Start() {
  publisher_.Publish(members_);
  return Status::Ok();
}

}  // namespace unicache

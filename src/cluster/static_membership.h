// StaticMembership: a fixed member list from --peers host:port,host:port.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "cluster/membership.h"

namespace unicache {

// Parses "host:port,host:port" into members whose id is their address, weight 1. Returns
// InvalidArgument for an empty list or entry, a bad host or port, or a repeated address.
Result<std::vector<Member>> ParsePeerList(std::string_view peers);

// A membership that never changes: one view, version 1. Thread-safe.
class StaticMembership : public Membership {
 public:
  // Creates the provider from a --peers value (see ParsePeerList).
  static Result<std::unique_ptr<StaticMembership>> Create(std::string_view peers);
  // Creates the provider from members already built; validates them like HashRing::Create.
  static Result<std::unique_ptr<StaticMembership>> FromMembers(std::vector<Member> members);

  Status Start() override;
  void Stop() override {}
  std::shared_ptr<const MemberView> Current() const override { return publisher_.Current(); }
  uint64_t Subscribe(Callback cb) override { return publisher_.Subscribe(std::move(cb)); }
  void Unsubscribe(uint64_t id) override { publisher_.Unsubscribe(id); }

 private:
  explicit StaticMembership(std::vector<Member> members) : members_(std::move(members)) {}

  const std::vector<Member> members_;
  ViewPublisher publisher_;
};

}  // namespace unicache

// EtcdMembership: members registered under an etcd prefix with leases, so a node that dies
// drops out when its lease expires; the prefix watched from a revision, so an idle cluster
// costs etcd nothing but the leases' keep-alives.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/membership.h"

namespace unicache {

struct EtcdMembershipOptions {
  std::vector<std::string> endpoints;    // base URLs, e.g. "http://127.0.0.1:2379"
  std::string prefix = "/unicache";      // members under <prefix>/members/<id>, slots under
                                         // <prefix>/slots/<n>
  Member self;                           // registered while running
  std::chrono::milliseconds ttl{10000};  // lease TTL, rounded up to whole seconds
  // How long a member that left stays in the view (GracePeriod), and so how long its slots
  // stay claimed after it is gone.
  std::chrono::milliseconds grace{15000};
  std::chrono::milliseconds request_timeout{3000};
  // A watch stream is renewed this often (it also bounds how long a silently dead connection
  // can hide changes).
  std::chrono::milliseconds watch_timeout{60000};
};

// Registers `self` as <prefix>/members/<id> = MemberToJson(self) under a lease kept alive every
// ttl/3, holding the placement slots (SlotTable) it claimed as <prefix>/slots/<n> = id under a
// second lease of ttl + grace: a node that restarts within the grace period takes its own slots
// back, so its keys stay where they were; a new node takes the lowest free numbers. The
// members prefix is read once and then watched from that revision (a compacted revision reads
// it again); a member that leaves stays in the view for `grace`. A lost lease (etcd restarted,
// node paused past the TTL) is re-granted and self registered again. Values that fail to parse
// are skipped. etcd errors keep the last view. Stop() revokes the member lease so peers start
// the grace period at once; destroying the object without Stop() only ends the threads and
// leaves the lease to expire, as a crash would. Thread-safe.
class EtcdMembership : public Membership {
 public:
  // Validates the options (endpoints, a valid self, ttl >= 1 s, grace >= 0).
  static Result<std::unique_ptr<EtcdMembership>> Create(EtcdMembershipOptions options);
  ~EtcdMembership() override;

  // Claims slots, registers self, reads the members and starts the threads. Returns etcd's
  // error (usually Unavailable) if any step fails.
  Status Start() override;
  void Stop() override;
  std::shared_ptr<const MemberView> Current() const override { return publisher_.Current(); }
  uint64_t Subscribe(Callback cb) override { return publisher_.Subscribe(std::move(cb)); }
  void Unsubscribe(uint64_t id) override { publisher_.Unsubscribe(id); }

  // Returns the etcd key this node registers under.
  std::string SelfKey() const;
  // Returns the slots this node holds (empty before Start()).
  std::vector<uint32_t> SelfSlots() const;

 private:
  using Clock = GracePeriod::Clock;

  EtcdMembership(EtcdMembershipOptions options, std::unique_ptr<EtcdClient> client);
  // Grants both leases, claims slots and puts self; stores the leases.
  Status Register();
  // Returns the slots this node holds after taking back its own and claiming free ones,
  // all under `slot_lease`.
  Result<std::vector<uint32_t>> ClaimSlots(int64_t slot_lease);
  // Reads the members prefix and replaces what the watch keeps; returns its revision.
  Result<int64_t> ReadMembers();
  // Publishes the members present plus those in their grace period.
  void PublishLocked(int64_t revision);
  // Follows the members prefix (its own thread).
  void WatchLoop(int64_t from_revision);
  // Keeps the leases alive and ends grace periods (its own thread).
  void LeaseLoop();
  // Ends the threads; revokes the member lease when `revoke`.
  void Shutdown(bool revoke);
  // Waits up to `d` or until stopping; returns whether stopping.
  bool Sleep(std::chrono::milliseconds d);

  const EtcdMembershipOptions options_;
  const std::string members_prefix_;
  const std::unique_ptr<EtcdClient> client_;
  std::unique_ptr<EtcdClient> watch_client_;  // one per Start(): Stop() cancels its stream
  ViewPublisher publisher_;

  mutable std::mutex state_mu_;            // guards the fields below it up to mu_
  std::map<std::string, Member> present_;  // by etcd key
  GracePeriod grace_;
  int64_t revision_ = 0;
  std::vector<uint32_t> slots_;  // this node's
  int64_t lease_ = 0;
  int64_t slot_lease_ = 0;

  std::mutex mu_;  // guards stopping_ and the threads; lock order: mu_, then state_mu_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread watch_thread_;
  std::thread lease_thread_;
};

}  // namespace unicache

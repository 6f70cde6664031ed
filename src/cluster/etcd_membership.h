// EtcdMembership: members registered under an etcd prefix with leases, so a node that dies
// drops out when its lease expires.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/membership.h"

namespace unicache {

struct EtcdMembershipOptions {
  std::vector<std::string> endpoints;             // base URLs, e.g. "http://127.0.0.1:2379"
  std::string prefix = "/unicache";               // members live under <prefix>/members/<id>
  Member self;                                    // registered while running
  std::chrono::milliseconds ttl{10000};           // lease TTL, rounded up to whole seconds
  std::chrono::milliseconds poll_interval{1000};  // how often the prefix is re-read
  std::chrono::milliseconds request_timeout{3000};
};

// Registers `self` as <prefix>/members/<id> = MemberToJson(self) under a lease kept alive every
// ttl/3, and polls the prefix (one range read per poll_interval; a view is published only when
// the store revision moved and the member set changed; its version is at least that revision).
// A lost lease (etcd restarted, node paused past the TTL) is re-granted and self re-registered.
// Values that fail to parse are skipped. etcd errors keep the last view.
// Stop() revokes the lease so peers drop this node at once; destroying the object without
// Stop() only ends the thread and leaves the lease to expire, as a crash would.
// Thread-safe.
class EtcdMembership : public Membership {
 public:
  // Validates the options (endpoints, a valid self, ttl >= 1 s, poll_interval > 0).
  static Result<std::unique_ptr<EtcdMembership>> Create(EtcdMembershipOptions options);
  ~EtcdMembership() override;

  // Grants the lease, registers self, reads the prefix once and starts the thread. Returns
  // etcd's error (usually Unavailable) if any step fails.
  Status Start() override;
  void Stop() override;
  std::shared_ptr<const MemberView> Current() const override { return publisher_.Current(); }
  uint64_t Subscribe(Callback cb) override { return publisher_.Subscribe(std::move(cb)); }
  void Unsubscribe(uint64_t id) override { publisher_.Unsubscribe(id); }

  // Returns the etcd key this node registers under.
  std::string SelfKey() const;

 private:
  EtcdMembership(EtcdMembershipOptions options, std::unique_ptr<EtcdClient> client)
      : options_(std::move(options)), client_(std::move(client)) {}
  // Grants a new lease and puts self under it; stores the lease in lease_.
  Status Register();
  // Reads the prefix and publishes the members when the revision moved.
  Status Refresh();
  void Loop();
  // Ends the thread; revokes the lease when `revoke`.
  void Shutdown(bool revoke);

  const EtcdMembershipOptions options_;
  const std::unique_ptr<EtcdClient> client_;
  ViewPublisher publisher_;
  // Touched only by Start(), the thread, and Shutdown() after the thread ended.
  int64_t lease_ = 0;
  int64_t last_revision_ = -1;
  std::mutex mu_;  // guards stopping_, thread_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace unicache

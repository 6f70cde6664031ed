// ClusterClient: the implementation of unicache::Client (include/unicache/client.h), the direct
// read path. It keeps the cluster's membership (from GET /v1/members, refreshed in the
// background), maps each block to its owners with the same rendezvous hashing as the nodes,
// and reads blocks from them in parallel with failover.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/block_span.h"
#include "client/transport.h"
#include "client/work_pool.h"
#include "cluster/cluster_info.h"
#include "cluster/peer_health.h"
#include "common/fork_safe_mutex.h"
#include "unicache/client.h"

namespace unicache {

// Thread-safe. Lock order: mu_ is a leaf (held only for short copies); PeerHealth has its own.
//
// Fork-safe: fork() copies only the calling thread, so a process forked from one that used the
// client (a PyTorch DataLoader worker holding the Dataset's client) finds the client's threads
// gone. Its first call starts its own; the parent's are abandoned, never joined, and HttpClient
// never reuses the parent's connections. Other threads may be inside calls of the client at the
// instant of the fork: the locks a child needs are ForkSafeMutexes, never inherited held.
class ClusterClient : public Client {
 public:
  // Builds a client that sends through `transport` and fetches the first membership view.
  // `client_id` spreads this client's reads over replicas ("" = a random id).
  static Result<std::unique_ptr<ClusterClient>> Create(const ClientOptions& options,
                                                       std::unique_ptr<Transport> transport,
                                                       std::string client_id = "");
  ~ClusterClient() override;

  Result<ObjectStat> Stat(const std::string& origin, const std::string& path) override;
  Result<size_t> Read(const std::string& origin, const ObjectStat& object, uint64_t offset,
                      std::span<std::byte> dst) override;
  std::unique_ptr<ObjectReader> Open(const std::string& origin, const ObjectStat& object) override;
  Result<ListResult> List(const std::string& origin, const std::string& prefix,
                          const std::string& delimiter, const std::string& token,
                          size_t max_keys) override;
  Result<ObjectStat> Write(const std::string& origin, const std::string& path,
                           std::span<const std::byte> data) override;
  uint64_t block_size() const override;

  // Re-reads the membership: the changes since the view held, from the known members; the
  // whole view from the listed peers or the discovery service when none of them answers.
  // Keeps the old view when nobody answers.
  Status RefreshMembership();
  // Returns the current cluster description; never null after Create().
  std::shared_ptr<const ClusterInfo> info() const;
  // Returns this process's pool that runs parallel block reads and readahead. Borrowed.
  WorkPool* pool();
  const ClientOptions& options() const { return options_; }

 private:
  ClusterClient(const ClientOptions& options, std::unique_ptr<Transport> transport,
                std::string client_id);
  // Asks `addresses` in turn for the members (the changes since `base`'s view when given) and
  // takes the first good answer as the view.
  Status RefreshFrom(const std::vector<std::string>& addresses,
                     const std::shared_ptr<const ClusterInfo>& base);
  // Returns the addresses to ask for the membership: seeds from --peers or discovery.
  Result<std::vector<std::string>> SeedAddresses();
  // Reads one block span into `dst`, trying members in OrderMembersForBlock order.
  Status ReadSpan(const ClusterInfo& info, const std::string& origin, const ObjectStat& object,
                  const BlockSpan& span, std::span<std::byte> dst);
  // Sends a request built for a node address to any healthy member (owner-agnostic calls),
  // moving on to the next member on a transport error.
  Result<HttpResponse> SendToAny(const std::function<HttpRequest(const std::string&)>& build);
  // The client's threads in one process: the membership refresher and the pool of block reads.
  struct Threads;
  // Returns this process's threads, starting them after a fork (see the class comment).
  Threads* threads();
  // Returns new threads for this process.
  std::unique_ptr<Threads> StartThreads();
  void RefreshLoop(Threads* threads);

  const ClientOptions options_;
  const std::unique_ptr<Transport> transport_;
  const std::string client_id_;
  PeerHealth health_;

  mutable ForkSafeMutex mu_;
  std::shared_ptr<const ClusterInfo> info_;  // guarded by mu_
  std::map<std::string, std::pair<ObjectStat, std::chrono::steady_clock::time_point>> stats_;
  uint64_t next_any_ = 0;  // guarded by mu_
  // Owned by the process it names: deleted by the destructor there, abandoned in any other.
  // Declared last, so its pool's queued tasks finish while the members above live.
  std::atomic<Threads*> threads_{nullptr};
  ForkSafeMutex threads_mu_;  // serializes starting threads after a fork
};

// Returns the URL of origin/path on the node at `address`.
std::string ObjectUrl(const std::string& address, const std::string& origin,
                      const std::string& path);

}  // namespace unicache

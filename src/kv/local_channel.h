// KvLocalChannel: one client connection to a node's KV shared-memory socket, with the client's
// segment registered on it (docs/KV.md, "Shared-memory path"). Blocking; not thread-safe (a
// client keeps one per thread in use).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "kv/local_protocol.h"
#include "kv/shared_memory.h"

namespace unicache {

class KvLocalChannel {
 public:
  // Connects to `socket_path` and registers `segment` (its descriptor is sent; the node maps
  // it). Unavailable when no node listens there; the node's error when it refuses the segment.
  static Result<std::unique_ptr<KvLocalChannel>> Connect(const std::string& socket_path,
                                                         const SharedMemory& segment,
                                                         std::chrono::milliseconds timeout);
  ~KvLocalChannel();
  KvLocalChannel(const KvLocalChannel&) = delete;
  KvLocalChannel& operator=(const KvLocalChannel&) = delete;

  // Sends `req` and returns the node's answer (whose `status` may be an error). A transport
  // error (Unavailable) leaves the channel unusable: drop it.
  Result<KvLocalAnswer> Call(const KvLocalRequest& req);

 private:
  explicit KvLocalChannel(int fd) : fd_(fd) {}
  Status SendAll(std::string_view data);
  Status RecvAll(char* buf, size_t n);
  int fd_;
};

}  // namespace unicache

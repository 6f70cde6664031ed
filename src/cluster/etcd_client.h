// EtcdClient: the few etcd v3 calls membership needs, over etcd's JSON gateway (/v3/...,
// etcd 3.4+), sent with HttpClient. Keys and values are base64 on the wire, plain here.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/http_client.h"  // Base64Encode/Decode for etcd's JSON gateway
#include "common/status.h"

namespace unicache {

// Returns the smallest key greater than every key starting with `prefix` (etcd's range_end for
// a prefix scan); "\0" when `prefix` is all 0xff bytes (meaning "to the end").
std::string PrefixRangeEnd(std::string_view prefix);

// Parses "http://H:P[,http://H:P...][/prefix]" (the part after "etcd:") into endpoint base URLs;
// stores the prefix (default "/unicache", no trailing '/') in `*prefix`. Returns
// InvalidArgument for an empty list, a non-http(s) URL, a missing port, or a path on an
// endpoint other than the last.
Result<std::vector<std::string>> ParseEtcdTarget(std::string_view spec, std::string* prefix);

// A thin etcd v3 client. A call goes to the endpoint that last answered and moves on to the
// next one on a transport error. gRPC errors map to Status codes (NOT_FOUND -> NotFound,
// INVALID_ARGUMENT -> InvalidArgument, anything else -> Unavailable). Thread-safe.
class EtcdClient {
 public:
  struct KeyValue {
    std::string key;
    std::string value;
    int64_t lease = 0;
    int64_t mod_revision = 0;  // the revision of its last change
  };
  // One change seen by Watch(): a put (kv holds the new value) or a delete (kv.key only).
  struct WatchEvent {
    bool deleted = false;
    KeyValue kv;
  };
  // Receives each batch of changes and the store revision they bring the watcher to (first an
  // empty batch: the revision the watch began at). An error it returns ends the watch with
  // that error.
  using WatchCallback = std::function<Status(int64_t revision, std::vector<WatchEvent> events)>;
  struct RangeResult {
    int64_t revision = 0;  // the store revision the range was read at
    std::vector<KeyValue> kvs;
  };

  // REQUIRES: `endpoints` non-empty, each a base URL such as "http://127.0.0.1:2379".
  static Result<std::unique_ptr<EtcdClient>> Create(std::vector<std::string> endpoints,
                                                    std::chrono::milliseconds timeout);

  // Grants a lease of `ttl` seconds; returns its id.
  Result<int64_t> GrantLease(int64_t ttl_seconds);
  // Renews `lease` once; returns its remaining TTL in seconds, or NotFound when it expired.
  Result<int64_t> KeepAlive(int64_t lease);
  // Revokes `lease`, deleting the keys attached to it.
  Status RevokeLease(int64_t lease);
  // Puts `key` = `value`, attached to `lease` when it is non-zero.
  Status Put(std::string_view key, std::string_view value, int64_t lease);
  // Returns every key starting with `prefix`, in key order.
  Result<RangeResult> RangePrefix(std::string_view prefix);
  // Puts `key` = `value` (attached to `lease` when non-zero) if the key's last change is still
  // at `mod_revision` (0: the key does not exist). Returns whether it did.
  Result<bool> PutIf(std::string_view key, std::string_view value, int64_t lease,
                     int64_t mod_revision);
  // Deletes `key` if its last change is still at `mod_revision`. Returns whether it did.
  Result<bool> DeleteIf(std::string_view key, int64_t mod_revision);
  // Watches every key starting with `prefix` from `start_revision` on, handing changes to
  // `on_events` as they come, until the stream ends: after `timeout` (OK: watch again from
  // the last revision + 1), on a transport error (Unavailable), when `on_events` fails (its
  // error), or when etcd has compacted `start_revision` away (OutOfRange: read the prefix
  // again and watch from there). Blocks the calling thread; Cancel() ends it.
  Status Watch(std::string_view prefix, int64_t start_revision, std::chrono::milliseconds timeout,
               const WatchCallback& on_events);
  // Aborts the calls in flight and refuses later ones (see HttpClient::Cancel).
  void Cancel() { http_.Cancel(); }

 private:
  EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
      : endpoints_(std::move(endpoints)), timeout_(timeout) {}
  // POSTs `body` (JSON) to `path` and returns the 200 response body.
  Result<std::string> Call(std::string_view path, const std::string& body);
  // Sends a transaction of one compare (the key's mod_revision) and one success operation
  // (`op`: "request_put" or "request_delete_range" with its body); returns whether it succeeded.
  Result<bool> TxnIfModRevision(std::string_view key, int64_t mod_revision, const char* op,
                                nlohmann::json op_body);

  const std::vector<std::string> endpoints_;
  const std::chrono::milliseconds timeout_;
  std::atomic<size_t> preferred_{0};  // index of the endpoint that last answered
  HttpClient http_;
};

}  // namespace unicache

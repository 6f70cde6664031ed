// The KV cache's shared-memory protocol for clients on the same host as a node (docs/KV.md,
// "Shared-memory path"). The client maps a memfd, sends its descriptor once over the node's Unix
// socket (SCM_RIGHTS), and from then on only small descriptors (key, offset, length) cross the
// socket: the node copies values straight out of the region (puts) and into it (gets).
//
// Every message is a frame: u32 payload length, then the payload; integers are little-endian.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kv/batch_codec.h"

namespace unicache {

inline constexpr uint32_t kKvLocalMaxFrame = 16u << 20;

enum class KvLocalOp : uint8_t {
  kRegister = 1,     // the segment's fd rides along (SCM_RIGHTS); segment_bytes
  kGet = 2,          // ns, lease, items {key, offset, length = capacity}
  kExists = 3,       // ns, items {key}
  kPut = 4,          // ns, items {key, offset, length, ttl_ms}
  kPrefixMatch = 5,  // ns, lease_ms, items {key}
  kRelease = 6,      // ns, lease
};

// One key of a request and, for gets and puts, its place in the segment.
struct KvLocalItem {
  std::string key;
  uint64_t offset = 0;
  uint64_t length = 0;  // put: the value's length; get: the room at offset
  uint64_t ttl_ms = 0;  // put: 0 = namespace default, 2^64-1 = never expires
};

struct KvLocalRequest {
  KvLocalOp op = KvLocalOp::kGet;
  uint64_t segment_bytes = 0;  // register
  std::string ns;
  std::string lease;      // get: released after the read; release: the lease id
  uint64_t lease_ms = 0;  // prefix match: pin the matched values this long
  std::vector<KvLocalItem> items;
};

// An answer: `status` is the request's outcome (an error rejects the whole request); per-item
// outcomes are in `statuses`. For gets, `lengths[i]` is the value's size: with kOk the value is
// at items[i].offset; with kResourceExhausted it did not fit in items[i].length.
struct KvLocalAnswer {
  Status status;
  std::vector<KvItemStatus> statuses;  // get, exists, put
  std::vector<uint64_t> lengths;       // get
  uint64_t matched = 0;                // prefix match
  std::string lease_id;                // prefix match
  bool released = false;               // release
};

// Payloads (without the u32 frame length).
std::string EncodeLocalRequest(const KvLocalRequest& req);
Result<KvLocalRequest> DecodeLocalRequest(std::string_view payload);
std::string EncodeLocalAnswer(KvLocalOp op, const KvLocalAnswer& answer);
Result<KvLocalAnswer> DecodeLocalAnswer(KvLocalOp op, std::string_view payload);

// Returns `payload` with its u32 length in front.
std::string Frame(std::string payload);

}  // namespace unicache

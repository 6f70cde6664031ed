// The compact binary batch format of the KV API (docs/KV.md, "Batch wire format"): the bodies of
// POST /v1/kv/<ns>/{batch-get,batch-put,batch-exists,prefix-match} and of their answers.
// All integers are little-endian. Every body starts with the magic "UKV1".
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace unicache {

inline constexpr std::string_view kKvBatchMagic = "UKV1";
inline constexpr std::string_view kKvBatchContentType = "application/x-unicache-kv";

// Per-item outcome in batch answers (one byte).
enum class KvItemStatus : uint8_t {
  kOk = 0,
  kNotFound = 1,           // absent, expired, evicted, or its owner is down
  kInvalidArgument = 2,    // bad key or value size
  kResourceExhausted = 3,  // quota: the value cannot fit
  kUnavailable = 4,        // the owner could not be reached (puts)
  kInternal = 5,
};

// Returns the item status for `status` (ok -> kOk).
KvItemStatus ItemStatusOf(const Status& status);
// Returns a Status for an item status (kOk -> Ok).
Status StatusOfItem(KvItemStatus s);

// One item of a batch put. The views point into the request body (or the caller's buffers).
struct KvPutItem {
  std::string_view key;
  std::string_view value;
  uint64_t ttl_ms = 0;  // 0: the namespace default
};

// A key list: magic, u32 count, count x {u16 key_len, key}.
std::string EncodeKeyList(std::span<const std::string> keys);
Result<std::vector<std::string>> DecodeKeyList(std::string_view body);

// A batch put: magic, u32 count, count x {u16 key_len, u32 value_len, u64 ttl_ms, key}, then
// the values concatenated in item order. EncodePutHeader() returns everything before the values,
// so a client can send its value buffers after it without copying them (gather).
std::string EncodePutHeader(std::span<const KvPutItem> items);
std::string EncodePutBatch(std::span<const KvPutItem> items);
// Returns views into `body`; REQUIRES: body outlives them.
Result<std::vector<KvPutItem>> DecodePutBatch(std::string_view body);

// A status list (batch-put and batch-exists answers): magic, u32 count, count x u8 status.
std::string EncodeStatusList(std::span<const KvItemStatus> statuses);
Result<std::vector<KvItemStatus>> DecodeStatusList(std::string_view body);

// The head of a batch-get answer: magic, u32 count, count x {u8 status, u32 value_len}; the
// values follow, concatenated in item order (only items with status kOk have bytes).
struct KvGetHead {
  std::vector<KvItemStatus> statuses;
  std::vector<uint32_t> lengths;
};
std::string EncodeGetHead(const KvGetHead& head);
// Returns the size of the head for `count` items.
inline size_t GetHeadSize(size_t count) { return 8 + 5 * count; }
// Decodes the head at the start of `body` (which may hold only the head).
Result<KvGetHead> DecodeGetHead(std::string_view body);

// A prefix-match answer: magic, u32 matched, u16 lease_len, lease id.
std::string EncodePrefixAnswer(uint32_t matched, std::string_view lease_id);
Result<std::pair<uint32_t, std::string>> DecodePrefixAnswer(std::string_view body);

}  // namespace unicache

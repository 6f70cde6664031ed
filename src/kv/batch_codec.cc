#include "kv/batch_codec.h"

#include <cstring>

#include "kv/kv_config.h"
#include "kv/wire.h"

namespace unicache {
namespace {

using wire::PutU16;
using wire::PutU32;
using wire::PutU64;
using wire::Reader;

Status Malformed(std::string_view what) {
  return InvalidArgument("malformed batch body: " + std::string(what) + " (see docs/KV.md)");
}

Result<uint32_t> ReadHeader(Reader& r) {
  std::string_view magic;
  uint32_t count = 0;
  if (!r.Bytes(4, &magic) || magic != kKvBatchMagic) return Malformed("missing magic \"UKV1\"");
  if (!r.U32(&count)) return Malformed("truncated count");
  if (count > kKvMaxBatchKeys) {
    return InvalidArgument("batch of " + std::to_string(count) + " items; at most " +
                           std::to_string(kKvMaxBatchKeys));
  }
  return count;
}

std::string Header(size_t count) {
  std::string out(kKvBatchMagic);
  PutU32(out, static_cast<uint32_t>(count));
  return out;
}

}  // namespace

KvItemStatus ItemStatusOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return KvItemStatus::kOk;
    case StatusCode::kNotFound:
      return KvItemStatus::kNotFound;
    case StatusCode::kInvalidArgument:
      return KvItemStatus::kInvalidArgument;
    case StatusCode::kResourceExhausted:
      return KvItemStatus::kResourceExhausted;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return KvItemStatus::kUnavailable;
    default:
      return KvItemStatus::kInternal;
  }
}

Status StatusOfItem(KvItemStatus s) {
  switch (s) {
    case KvItemStatus::kOk:
      return Status::Ok();
    case KvItemStatus::kNotFound:
      return NotFound("no such key");
    case KvItemStatus::kInvalidArgument:
      return InvalidArgument("bad key or value");
    case KvItemStatus::kResourceExhausted:
      return ResourceExhausted("namespace quota exceeded").WithDetail(StatusDetail::kQuotaExceeded);
    case KvItemStatus::kUnavailable:
      return Unavailable("owner unavailable");
    default:
      return Internal("internal error");
  }
}

std::string EncodeKeyList(std::span<const std::string> keys) {
  std::string out = Header(keys.size());
  for (const std::string& k : keys) {
    PutU16(out, static_cast<uint16_t>(k.size()));
    out += k;
  }
  return out;
}

Result<std::vector<std::string>> DecodeKeyList(std::string_view body) {
  Reader r(body);
  ASSIGN_OR_RETURN(uint32_t count, ReadHeader(r));
  std::vector<std::string> keys;
  keys.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t len = 0;
    std::string_view key;
    if (!r.U16(&len) || !r.Bytes(len, &key)) return Malformed("truncated key list");
    keys.emplace_back(key);
  }
  if (!r.rest().empty()) return Malformed("trailing bytes after the key list");
  return keys;
}

std::string EncodePutHeader(std::span<const KvPutItem> items) {
  std::string out = Header(items.size());
  for (const KvPutItem& it : items) {
    PutU16(out, static_cast<uint16_t>(it.key.size()));
    PutU32(out, static_cast<uint32_t>(it.value.size()));
    PutU64(out, it.ttl_ms);
    out += it.key;
  }
  return out;
}

std::string EncodePutBatch(std::span<const KvPutItem> items) {
  std::string out = EncodePutHeader(items);
  size_t total = out.size();
  for (const KvPutItem& it : items) total += it.value.size();
  out.reserve(total);
  for (const KvPutItem& it : items) out += it.value;
  return out;
}

Result<std::vector<KvPutItem>> DecodePutBatch(std::string_view body) {
  Reader r(body);
  ASSIGN_OR_RETURN(uint32_t count, ReadHeader(r));
  std::vector<KvPutItem> items(count);
  std::vector<uint32_t> lengths(count);
  uint64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t klen = 0;
    if (!r.U16(&klen) || !r.U32(&lengths[i]) || !r.U64(&items[i].ttl_ms) ||
        !r.Bytes(klen, &items[i].key)) {
      return Malformed("truncated item header");
    }
    total += lengths[i];
  }
  if (r.rest().size() != total) {
    return Malformed("value bytes (" + std::to_string(r.rest().size()) +
                     ") differ from the sum of value lengths (" + std::to_string(total) + ")");
  }
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view v;
    (void)r.Bytes(lengths[i], &v);
    items[i].value = v;
  }
  return items;
}

std::string EncodeStatusList(std::span<const KvItemStatus> statuses) {
  std::string out = Header(statuses.size());
  for (KvItemStatus s : statuses) out.push_back(static_cast<char>(s));
  return out;
}

Result<std::vector<KvItemStatus>> DecodeStatusList(std::string_view body) {
  Reader r(body);
  ASSIGN_OR_RETURN(uint32_t count, ReadHeader(r));
  if (r.rest().size() != count) return Malformed("status list length");
  std::vector<KvItemStatus> out(count);
  for (uint32_t i = 0; i < count; ++i) out[i] = static_cast<KvItemStatus>(r.rest()[i]);
  return out;
}

std::string EncodeGetHead(const KvGetHead& head) {
  std::string out = Header(head.statuses.size());
  for (size_t i = 0; i < head.statuses.size(); ++i) {
    out.push_back(static_cast<char>(head.statuses[i]));
    PutU32(out, head.lengths[i]);
  }
  return out;
}

Result<KvGetHead> DecodeGetHead(std::string_view body) {
  Reader r(body);
  ASSIGN_OR_RETURN(uint32_t count, ReadHeader(r));
  KvGetHead head;
  head.statuses.resize(count);
  head.lengths.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t s = 0;
    if (!r.U8(&s) || !r.U32(&head.lengths[i])) return Malformed("truncated batch-get head");
    head.statuses[i] = static_cast<KvItemStatus>(s);
  }
  return head;
}

std::string EncodePrefixAnswer(uint32_t matched, std::string_view lease_id) {
  std::string out(kKvBatchMagic);
  PutU32(out, matched);
  PutU16(out, static_cast<uint16_t>(lease_id.size()));
  out += lease_id;
  return out;
}

Result<std::pair<uint32_t, std::string>> DecodePrefixAnswer(std::string_view body) {
  Reader r(body);
  std::string_view magic, lease;
  uint32_t matched = 0;
  uint16_t len = 0;
  if (!r.Bytes(4, &magic) || magic != kKvBatchMagic || !r.U32(&matched) || !r.U16(&len) ||
      !r.Bytes(len, &lease)) {
    return Malformed("prefix-match answer");
  }
  return std::make_pair(matched, std::string(lease));
}

}  // namespace unicache

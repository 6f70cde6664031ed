#include "kv/batch_codec.h"

#include <cstring>

#include "kv/kv_config.h"

namespace unicache {
namespace {

void PutU16(std::string& out, uint16_t v) {
  char b[2] = {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  out.append(b, 2);
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads fields off the front of a body, failing once it runs short.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool U8(uint8_t* v) { return Fixed(v, 1); }
  bool U16(uint16_t* v) { return Fixed(v, 2); }
  bool U32(uint32_t* v) { return Fixed(v, 4); }
  bool U64(uint64_t* v) { return Fixed(v, 8); }
  bool Bytes(size_t n, std::string_view* v) {
    if (data_.size() < n) return false;
    *v = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  std::string_view rest() const { return data_; }

 private:
  template <typename T>
  bool Fixed(T* v, size_t n) {
    if (data_.size() < n) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i) x |= uint64_t(static_cast<uint8_t>(data_[i])) << (8 * i);
    *v = static_cast<T>(x);
    data_.remove_prefix(n);
    return true;
  }
  std::string_view data_;
};

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
      return ResourceExhausted("namespace quota exceeded");
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

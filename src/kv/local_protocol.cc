#include "kv/local_protocol.h"

#include "kv/kv_config.h"
#include "kv/wire.h"

namespace unicache {
namespace {

using wire::PutStr16;
using wire::PutU32;
using wire::PutU64;
using wire::PutU8;

Status Malformed(std::string_view what) {
  return InvalidArgument("malformed local KV message: " + std::string(what) + " (see docs/KV.md)");
}

bool HasPlacement(KvLocalOp op) { return op == KvLocalOp::kGet || op == KvLocalOp::kPut; }

}  // namespace

std::string EncodeLocalRequest(const KvLocalRequest& req) {
  std::string out;
  PutU8(out, static_cast<uint8_t>(req.op));
  if (req.op == KvLocalOp::kRegister) {
    PutU64(out, req.segment_bytes);
    return out;
  }
  PutStr16(out, req.ns);
  if (req.op == KvLocalOp::kGet || req.op == KvLocalOp::kRelease) PutStr16(out, req.lease);
  if (req.op == KvLocalOp::kRelease) return out;
  if (req.op == KvLocalOp::kPrefixMatch) PutU64(out, req.lease_ms);
  PutU32(out, static_cast<uint32_t>(req.items.size()));
  for (const KvLocalItem& it : req.items) {
    PutStr16(out, it.key);
    if (HasPlacement(req.op)) {
      PutU64(out, it.offset);
      PutU64(out, it.length);
    }
    if (req.op == KvLocalOp::kPut) PutU64(out, it.ttl_ms);
  }
  return out;
}

Result<KvLocalRequest> DecodeLocalRequest(std::string_view payload) {
  wire::Reader r(payload);
  KvLocalRequest req;
  uint8_t op = 0;
  if (!r.U8(&op) || op < 1 || op > 6) return Malformed("unknown operation");
  req.op = static_cast<KvLocalOp>(op);
  if (req.op == KvLocalOp::kRegister) {
    if (!r.U64(&req.segment_bytes)) return Malformed("truncated register");
    return req;
  }
  std::string_view ns, lease;
  if (!r.Str16(&ns)) return Malformed("truncated namespace");
  req.ns = ns;
  if (req.op == KvLocalOp::kGet || req.op == KvLocalOp::kRelease) {
    if (!r.Str16(&lease)) return Malformed("truncated lease");
    req.lease = lease;
  }
  if (req.op == KvLocalOp::kRelease) return req;
  if (req.op == KvLocalOp::kPrefixMatch && !r.U64(&req.lease_ms)) return Malformed("truncated");
  uint32_t count = 0;
  if (!r.U32(&count)) return Malformed("truncated count");
  if (count > kKvMaxBatchKeys) {
    return InvalidArgument("batch of " + std::to_string(count) + " items; at most " +
                           std::to_string(kKvMaxBatchKeys));
  }
  req.items.resize(count);
  for (KvLocalItem& it : req.items) {
    std::string_view key;
    if (!r.Str16(&key)) return Malformed("truncated key");
    it.key = key;
    if (HasPlacement(req.op) && !(r.U64(&it.offset) && r.U64(&it.length))) {
      return Malformed("truncated offset/length");
    }
    if (req.op == KvLocalOp::kPut && !r.U64(&it.ttl_ms)) return Malformed("truncated ttl");
  }
  if (!r.rest().empty()) return Malformed("trailing bytes");
  return req;
}

std::string EncodeLocalAnswer(KvLocalOp op, const KvLocalAnswer& a) {
  std::string out;
  PutU8(out, static_cast<uint8_t>(a.status.code()));
  PutStr16(out, a.status.message().substr(0, 4096));
  if (!a.status.ok() || op == KvLocalOp::kRegister) return out;
  switch (op) {
    case KvLocalOp::kGet:
    case KvLocalOp::kExists:
    case KvLocalOp::kPut:
      PutU32(out, static_cast<uint32_t>(a.statuses.size()));
      for (size_t i = 0; i < a.statuses.size(); ++i) {
        PutU8(out, static_cast<uint8_t>(a.statuses[i]));
        if (op == KvLocalOp::kGet) PutU64(out, a.lengths[i]);
      }
      break;
    case KvLocalOp::kPrefixMatch:
      PutU64(out, a.matched);
      PutStr16(out, a.lease_id);
      break;
    case KvLocalOp::kRelease:
      PutU8(out, a.released ? 1 : 0);
      break;
    case KvLocalOp::kRegister:
      break;
  }
  return out;
}

Result<KvLocalAnswer> DecodeLocalAnswer(KvLocalOp op, std::string_view payload) {
  wire::Reader r(payload);
  KvLocalAnswer a;
  uint8_t code = 0;
  std::string_view msg;
  if (!r.U8(&code) || !r.Str16(&msg)) return Malformed("truncated answer");
  if (code > static_cast<uint8_t>(StatusCode::kInternal)) return Malformed("unknown status");
  a.status = Status(static_cast<StatusCode>(code), std::string(msg));
  if (!a.status.ok() || op == KvLocalOp::kRegister) return a;
  uint32_t count = 0;
  uint8_t s = 0;
  switch (op) {
    case KvLocalOp::kGet:
    case KvLocalOp::kExists:
    case KvLocalOp::kPut:
      if (!r.U32(&count) || count > kKvMaxBatchKeys) return Malformed("bad count");
      a.statuses.resize(count);
      if (op == KvLocalOp::kGet) a.lengths.resize(count);
      for (uint32_t i = 0; i < count; ++i) {
        if (!r.U8(&s) || s > static_cast<uint8_t>(KvItemStatus::kInternal)) {
          return Malformed("bad item status");
        }
        a.statuses[i] = static_cast<KvItemStatus>(s);
        if (op == KvLocalOp::kGet && !r.U64(&a.lengths[i])) return Malformed("truncated length");
      }
      break;
    case KvLocalOp::kPrefixMatch: {
      std::string_view lease;
      if (!r.U64(&a.matched) || !r.Str16(&lease)) return Malformed("truncated prefix answer");
      a.lease_id = lease;
      break;
    }
    case KvLocalOp::kRelease:
      if (!r.U8(&s)) return Malformed("truncated release answer");
      a.released = s != 0;
      break;
    case KvLocalOp::kRegister:
      break;
  }
  if (!r.rest().empty()) return Malformed("trailing bytes");
  return a;
}

std::string Frame(std::string payload) {
  std::string out;
  out.reserve(4 + payload.size());
  PutU32(out, static_cast<uint32_t>(payload.size()));
  out += payload;
  return out;
}

}  // namespace unicache

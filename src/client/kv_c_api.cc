// The KV part of the C API (include/unicache/unicache.h, "KV cache") over unicache::KvClient.
// No exception leaves a function.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "client/c_api_util.h"
#include "unicache/kv.h"
#include "unicache/unicache.h"

struct uc_kv {
  std::unique_ptr<unicache::KvClient> client;
};

namespace {

using unicache::c_api::Fail;
using unicache::c_api::FailText;
using unicache::c_api::Guard;

std::string_view Bytes(const void* p, size_t n) { return {static_cast<const char*>(p), n}; }

// Copies the keys of a batch into *out; false when a pointer is null.
bool CollectKeys(size_t count, const void* const* keys, const size_t* key_lens,
                 std::vector<std::string>* out) {
  if (count > 0 && (!keys || !key_lens)) return false;
  out->reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (!keys[i] && key_lens[i] > 0) return false;
    out->emplace_back(keys[i] ? Bytes(keys[i], key_lens[i]) : std::string_view());
  }
  return true;
}

uc_code ItemCode(const unicache::Status& st) { return static_cast<uc_code>(st.code()); }

}  // namespace

extern "C" {

uc_code uc_kv_connect(const char* peers, const char* local_socket, size_t segment_bytes,
                      uc_kv** out) {
  if (!peers || !out) return FailText(UC_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    unicache::KvClientOptions options;
    options.peers = peers;
    if (local_socket && *local_socket) {
      if (segment_bytes == 0) {
        return FailText(UC_INVALID_ARGUMENT, "a local socket needs segment_bytes > 0");
      }
      options.local_socket = local_socket;
      options.segment_bytes = segment_bytes;
    }
    auto client = unicache::KvClient::Connect(options);
    if (!client.ok()) return Fail(client.status());
    *out = new uc_kv{std::move(client).value()};
    return UC_OK;
  });
}

void uc_kv_close(uc_kv* kv) { delete kv; }

uc_code uc_kv_segment(uc_kv* kv, void** base, size_t* size) {
  if (!kv || !base || !size) return FailText(UC_INVALID_ARGUMENT, "null argument");
  std::span<std::byte> seg = kv->client->segment();
  *base = seg.empty() ? nullptr : seg.data();
  *size = seg.size();
  return UC_OK;
}

uc_code uc_kv_put(uc_kv* kv, const char* ns, const void* key, size_t key_len, const void* value,
                  size_t len, int64_t ttl_ms) {
  if (!kv || !ns || !key || (!value && len > 0)) {
    return FailText(UC_INVALID_ARGUMENT, "null argument");
  }
  return Guard([&] {
    unicache::Status st = kv->client->Put(ns, Bytes(key, key_len),
                                          std::span(static_cast<const std::byte*>(value), len),
                                          std::chrono::milliseconds(ttl_ms));
    return st.ok() ? UC_OK : Fail(st);
  });
}

uc_code uc_kv_get(uc_kv* kv, const char* ns, const void* key, size_t key_len, void* buf, size_t cap,
                  const char* lease, size_t* n) {
  if (!kv || !ns || !key || !n || (!buf && cap > 0)) {
    return FailText(UC_INVALID_ARGUMENT, "null argument");
  }
  return Guard([&] {
    auto got = kv->client->Get(ns, Bytes(key, key_len),
                               std::span(static_cast<std::byte*>(buf), cap), lease ? lease : "");
    if (!got.ok()) return Fail(got.status());
    *n = *got;
    return UC_OK;
  });
}

uc_code uc_kv_delete(uc_kv* kv, const char* ns, const void* key, size_t key_len, int* existed) {
  if (!kv || !ns || !key) return FailText(UC_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    auto r = kv->client->Delete(ns, Bytes(key, key_len));
    if (!r.ok()) return Fail(r.status());
    if (existed) *existed = *r ? 1 : 0;
    return UC_OK;
  });
}

uc_code uc_kv_batch_put(uc_kv* kv, const char* ns, size_t count, const void* const* keys,
                        const size_t* key_lens, const void* const* values, const size_t* lens,
                        int64_t ttl_ms, uc_code* statuses) {
  std::vector<std::string> k;
  if (!kv || !ns || (count > 0 && (!values || !lens || !statuses)) ||
      !CollectKeys(count, keys, key_lens, &k)) {
    return FailText(UC_INVALID_ARGUMENT, "null argument");
  }
  return Guard([&] {
    std::vector<unicache::KvPutSpec> items(count);
    for (size_t i = 0; i < count; ++i) {
      if (!values[i] && lens[i] > 0) return FailText(UC_INVALID_ARGUMENT, "null value");
      items[i].key = k[i];
      items[i].value = std::span(static_cast<const std::byte*>(values[i]), lens[i]);
      items[i].ttl = std::chrono::milliseconds(ttl_ms);
    }
    auto r = kv->client->BatchPut(ns, items);
    if (!r.ok()) return Fail(r.status());
    for (size_t i = 0; i < count; ++i) statuses[i] = ItemCode((*r)[i]);
    return UC_OK;
  });
}

uc_code uc_kv_batch_get(uc_kv* kv, const char* ns, size_t count, const void* const* keys,
                        const size_t* key_lens, void* const* bufs, const size_t* caps,
                        const char* lease, size_t* sizes, uc_code* statuses) {
  std::vector<std::string> k;
  if (!kv || !ns || (count > 0 && (!bufs || !caps || !sizes || !statuses)) ||
      !CollectKeys(count, keys, key_lens, &k)) {
    return FailText(UC_INVALID_ARGUMENT, "null argument");
  }
  return Guard([&] {
    std::vector<std::span<std::byte>> dsts(count);
    for (size_t i = 0; i < count; ++i) {
      if (!bufs[i] && caps[i] > 0) return FailText(UC_INVALID_ARGUMENT, "null buffer");
      dsts[i] = std::span(static_cast<std::byte*>(bufs[i]), caps[i]);
    }
    auto r = kv->client->BatchGet(ns, k, dsts, lease ? lease : "");
    if (!r.ok()) return Fail(r.status());
    for (size_t i = 0; i < count; ++i) {
      statuses[i] = ItemCode((*r)[i].status);
      sizes[i] = (*r)[i].size;
    }
    return UC_OK;
  });
}

uc_code uc_kv_batch_exists(uc_kv* kv, const char* ns, size_t count, const void* const* keys,
                           const size_t* key_lens, uint8_t* present) {
  std::vector<std::string> k;
  if (!kv || !ns || (count > 0 && !present) || !CollectKeys(count, keys, key_lens, &k)) {
    return FailText(UC_INVALID_ARGUMENT, "null argument");
  }
  return Guard([&] {
    auto r = kv->client->BatchExists(ns, k);
    if (!r.ok()) return Fail(r.status());
    for (size_t i = 0; i < count; ++i) present[i] = (*r)[i] ? 1 : 0;
    return UC_OK;
  });
}

uc_code uc_kv_prefix_match(uc_kv* kv, const char* ns, size_t count, const void* const* keys,
                           const size_t* key_lens, int64_t lease_ms, size_t* matched,
                           char* lease_out, size_t lease_cap) {
  std::vector<std::string> k;
  if (!kv || !ns || !matched || (lease_ms > 0 && !lease_out) ||
      !CollectKeys(count, keys, key_lens, &k)) {
    return FailText(UC_INVALID_ARGUMENT, "null argument");
  }
  if (lease_ms < 0) return FailText(UC_INVALID_ARGUMENT, "lease_ms must be >= 0");
  return Guard([&] {
    auto r = kv->client->PrefixMatch(ns, k, std::chrono::milliseconds(lease_ms));
    if (!r.ok()) return Fail(r.status());
    if (lease_out) {
      if (r->lease.size() + 1 > lease_cap) {
        // Nobody could use the lease: drop it rather than pin values until it expires.
        if (!r->lease.empty()) kv->client->Release(ns, r->lease).status().IgnoreError();
        return FailText(UC_RESOURCE_EXHAUSTED, "lease_cap too small for the lease id");
      }
      std::memcpy(lease_out, r->lease.c_str(), r->lease.size() + 1);
    }
    *matched = r->matched;
    return UC_OK;
  });
}

uc_code uc_kv_release(uc_kv* kv, const char* ns, const char* lease, int* released) {
  if (!kv || !ns || !lease) return FailText(UC_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    auto r = kv->client->Release(ns, lease);
    if (!r.ok()) return Fail(r.status());
    if (released) *released = *r ? 1 : 0;
    return UC_OK;
  });
}

}  // extern "C"

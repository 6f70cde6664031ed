// The C API (include/unicache/unicache.h) over unicache::Client. No exception leaves a function.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "client/c_api_util.h"
#include "unicache/client.h"
#include "unicache/unicache.h"

struct uc_client {
  std::unique_ptr<unicache::Client> client;
};

struct uc_reader {
  std::unique_ptr<unicache::ObjectReader> reader;
  uc_stat_t stat;
};

namespace {

using unicache::c_api::Fail;
using unicache::c_api::FailText;
using unicache::c_api::Guard;

void FillStat(const unicache::ObjectStat& s, uc_stat_t* out) {
  out->size = s.size;
  out->mtime_ms = s.mtime_ms;
  std::snprintf(out->version, sizeof(out->version), "%s", s.version.c_str());
}

}  // namespace

extern "C" {

const char* uc_last_error_message(void) { return unicache::c_api::LastError().c_str(); }

uc_code uc_connect(const char* peers_or_discovery, uc_client** out) {
  if (!peers_or_discovery || !out) return FailText(UC_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    unicache::ClientOptions options;
    std::string target = peers_or_discovery;
    if (target.starts_with("etcd:") || target.starts_with("dns:")) {
      options.discovery = target;
    } else {
      options.peers = target;
    }
    auto client = unicache::Client::Connect(options);
    if (!client.ok()) return Fail(client.status());
    *out = new uc_client{std::move(client).value()};
    return UC_OK;
  });
}

void uc_close(uc_client* client) { delete client; }

uc_code uc_stat(uc_client* client, const char* origin, const char* path, uc_stat_t* out) {
  if (!client || !origin || !path || !out) return FailText(UC_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    auto stat = client->client->Stat(origin, path);
    if (!stat.ok()) return Fail(stat.status());
    FillStat(*stat, out);
    return UC_OK;
  });
}

uc_code uc_read(uc_client* client, const char* origin, const char* path, const char* version,
                uint64_t offset, void* buf, size_t len, size_t* n) {
  if (!client || !origin || !path || !n || (!buf && len > 0)) {
    return FailText(UC_INVALID_ARGUMENT, "null argument");
  }
  return Guard([&] {
    auto stat = client->client->Stat(origin, path);
    if (!stat.ok()) return Fail(stat.status());
    if (version && *version && stat->version != version) {
      return Fail(unicache::PreconditionFailed(std::string(origin) + "/" + path +
                                               " is no longer at version " + version));
    }
    auto got =
        client->client->Read(origin, *stat, offset, std::span(static_cast<std::byte*>(buf), len));
    if (!got.ok()) return Fail(got.status());
    *n = *got;
    return UC_OK;
  });
}

uc_code uc_write(uc_client* client, const char* origin, const char* path, const void* data,
                 size_t len, uc_stat_t* out) {
  if (!client || !origin || !path || (!data && len > 0)) {
    return FailText(UC_INVALID_ARGUMENT, "null argument");
  }
  return Guard([&] {
    auto stat =
        client->client->Write(origin, path, std::span(static_cast<const std::byte*>(data), len));
    if (!stat.ok()) return Fail(stat.status());
    if (out) FillStat(*stat, out);
    return UC_OK;
  });
}

uc_code uc_list(uc_client* client, const char* origin, const char* prefix, const char* delimiter,
                const char* token, size_t max_keys, char** json_out) {
  if (!client || !origin || !json_out) return FailText(UC_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    auto page = client->client->List(origin, prefix ? prefix : "", delimiter ? delimiter : "",
                                     token ? token : "", max_keys ? max_keys : 1000);
    if (!page.ok()) return Fail(page.status());
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : page->entries) {
      entries.push_back({{"path", e.path},
                         {"size", e.size},
                         {"version", e.version},
                         {"mtime_ms", e.mtime_ms},
                         {"is_prefix", e.is_prefix}});
    }
    std::string text =
        nlohmann::json{{"entries", entries}, {"next_token", page->next_token}}.dump();
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (!copy) return FailText(UC_RESOURCE_EXHAUSTED, "out of memory");
    std::memcpy(copy, text.c_str(), text.size() + 1);
    *json_out = copy;
    return UC_OK;
  });
}

void uc_free(void* ptr) { std::free(ptr); }

uc_code uc_open(uc_client* client, const char* origin, const char* path, uc_reader** out) {
  if (!client || !origin || !path || !out) return FailText(UC_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    auto stat = client->client->Stat(origin, path);
    if (!stat.ok()) return Fail(stat.status());
    auto reader = std::make_unique<uc_reader>();
    reader->reader = client->client->Open(origin, *stat);
    FillStat(*stat, &reader->stat);
    *out = reader.release();
    return UC_OK;
  });
}

const uc_stat_t* uc_reader_stat(const uc_reader* reader) {
  return reader ? &reader->stat : nullptr;
}

uc_code uc_reader_read(uc_reader* reader, uint64_t offset, void* buf, size_t len, size_t* n) {
  if (!reader || !n || (!buf && len > 0)) return FailText(UC_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    auto got = reader->reader->ReadAt(offset, std::span(static_cast<std::byte*>(buf), len));
    if (!got.ok()) return Fail(got.status());
    *n = *got;
    return UC_OK;
  });
}

void uc_reader_close(uc_reader* reader) { delete reader; }

}  // extern "C"

// unicache kv: the inference KV cache from the shell: put, get, ls, stats, and hash (the token
// hash chain, for checking keys against an engine's).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "common/crypto.h"
#include "common/hash.h"
#include "common/json_read.h"
#include "common/units.h"
#include "unicache/kv.h"

namespace unicache::cli {
namespace {

struct KvFlags {
  std::string peers;
  std::string ns, key, file, output, ttl, tokens, model, salt, extra;
  size_t limit = 1000;
  size_t block_tokens = 256;
};

Result<std::unique_ptr<KvClient>> Connect(const KvFlags& f) {
  KvClientOptions o;
  o.peers = PickNode(f.peers);
  return KvClient::Connect(o);
}

int KvFail(const std::string& cmd, const Status& st) {
  return Fail(
      "kv " + cmd, st,
      st.code() == StatusCode::kUnavailable ? "is a node running? (--peers HOST:PORT)" : "");
}

int RunPut(const KvFlags& f) {
  Result<std::string> key = FromHex(f.key);
  if (!key.ok()) return KvFail("put", key.status().WithContext("KEY must be hex"));
  std::string data;
  if (f.file.empty() || f.file == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(f.file, std::ios::binary);
    if (!in) return KvFail("put", NotFound("cannot open " + f.file));
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::chrono::milliseconds ttl(0);
  if (!f.ttl.empty()) {
    Result<std::chrono::milliseconds> d = ParseDuration(f.ttl);
    if (!d.ok()) return KvFail("put", d.status().WithContext("--ttl"));
    ttl = *d == std::chrono::milliseconds::max() ? std::chrono::milliseconds(-1) : *d;
  }
  Result<std::unique_ptr<KvClient>> c = Connect(f);
  if (!c.ok()) return KvFail("put", c.status());
  if (Status st = (*c)->Put(f.ns, *key, std::as_bytes(std::span(data.data(), data.size())), ttl);
      !st.ok()) {
    return KvFail("put", st);
  }
  std::fprintf(stderr, "stored %s (%s) in %s\n", f.key.c_str(), FormatSize(data.size()).c_str(),
               f.ns.c_str());
  return 0;
}

int RunGet(const KvFlags& f) {
  Result<std::string> key = FromHex(f.key);
  if (!key.ok()) return KvFail("get", key.status().WithContext("KEY must be hex"));
  Result<std::unique_ptr<KvClient>> c = Connect(f);
  if (!c.ok()) return KvFail("get", c.status());
  Result<std::string> v = (*c)->Get(f.ns, *key);
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) {
      return KvFail("get", NotFound("key " + f.key + " not found in " + f.ns));
    }
    return KvFail("get", v.status());
  }
  if (f.output.empty() || f.output == "-") {
    std::fwrite(v->data(), 1, v->size(), stdout);
    return 0;
  }
  std::ofstream out(f.output, std::ios::binary);
  out.write(v->data(), static_cast<std::streamsize>(v->size()));
  if (!out) return KvFail("get", Internal("cannot write " + f.output));
  return 0;
}

int RunLs(const KvFlags& f) {
  Result<std::unique_ptr<KvClient>> c = Connect(f);
  if (!c.ok()) return KvFail("ls", c.status());
  Result<std::string> body = (*c)->ListJson(f.ns, f.limit);
  if (!body.ok()) return KvFail("ls", body.status());
  Result<std::vector<std::string>> keys = ReadJsonObject<std::vector<std::string>>(
      *body, "the node's key list",
      [](const nlohmann::json& j) -> Result<std::vector<std::string>> {
        return j.at("keys").get<std::vector<std::string>>();
      });
  if (!keys.ok()) return KvFail("ls", keys.status());
  for (const std::string& k : *keys) std::printf("%s\n", k.c_str());
  return 0;
}

int RunStats(const KvFlags& f) {
  Result<std::unique_ptr<KvClient>> c = Connect(f);
  if (!c.ok()) return KvFail("stats", c.status());
  Result<std::string> body = (*c)->StatsJson();
  if (!body.ok()) return KvFail("stats", body.status());
  Result<std::string> table = ReadJsonObject<std::string>(
      *body, "the node's KV stats", [](const nlohmann::json& j) -> Result<std::string> {
        std::string out =
            fmt::format("{:<24} {:<16} {:>12} {:>12} {:>10} {:>10} {:>10} {:>10}\n", "node",
                        "namespace", "bytes", "quota", "keys", "hits", "misses", "evictions");
        for (const auto& node : j.at("nodes")) {
          for (const auto& ns : node.at("namespaces")) {
            out += fmt::format("{:<24} {:<16} {:>12} {:>12} {:>10} {:>10} {:>10} {:>10}\n",
                               node.at("node").get<std::string>(), ns.at("name").get<std::string>(),
                               FormatSize(ns.at("bytes").get<uint64_t>()),
                               FormatSize(ns.at("quota_bytes").get<uint64_t>()),
                               ns.at("keys").get<uint64_t>(), ns.at("hits").get<uint64_t>(),
                               ns.at("misses").get<uint64_t>(), ns.at("evictions").get<uint64_t>());
          }
        }
        return out;
      });
  if (!table.ok()) return KvFail("stats", table.status());
  std::fputs(table->c_str(), stdout);
  return 0;
}

int RunHash(const KvFlags& f) {
  TokenHashOptions o;
  o.model = f.model;
  o.salt = f.salt;
  o.extra = f.extra;
  o.block_tokens = f.block_tokens;
  std::vector<uint32_t> tokens;
  std::stringstream ss(f.tokens);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    unsigned long long t = std::strtoull(item.c_str(), &end, 10);
    if (*end != '\0' || t > UINT32_MAX)
      return KvFail("hash", InvalidArgument("bad token id " + item));
    tokens.push_back(static_cast<uint32_t>(t));
  }
  for (const std::string& k : TokenBlockHashes(tokens, o)) std::printf("%s\n", HexOf(k).c_str());
  return 0;
}

}  // namespace

void AddKvCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<KvFlags>();
  CLI::App* kv = app.add_subcommand("kv", "Inference KV cache: put, get, ls, stats, hash");
  kv->require_subcommand(1);
  auto peers = [&f](CLI::App* c) {
    c->add_option("--peers", f->peers,
                  "Node HOST:PORT (default: $UNICACHE_PEERS or 127.0.0.1:8470)");
  };
  CLI::App* put = kv->add_subcommand("put", "Store a value (from FILE or stdin) under a hex KEY");
  put->add_option("NAMESPACE", f->ns)->required();
  put->add_option("KEY", f->key, "Key as hex")->required();
  put->add_option("FILE", f->file, "Value file ('-' or none: stdin)");
  put->add_option("--ttl", f->ttl, "Time to live (e.g. 10m; default: the namespace's)");
  peers(put);
  put->callback([f, exit_code] { *exit_code = RunPut(*f); });
  CLI::App* get = kv->add_subcommand("get", "Print a value (or write it with -o FILE)");
  get->add_option("NAMESPACE", f->ns)->required();
  get->add_option("KEY", f->key, "Key as hex")->required();
  get->add_option("-o,--output", f->output, "Output file (default: stdout)");
  peers(get);
  get->callback([f, exit_code] { *exit_code = RunGet(*f); });
  CLI::App* ls = kv->add_subcommand("ls", "List keys (hex) of a namespace, all nodes");
  ls->add_option("NAMESPACE", f->ns)->required();
  ls->add_option("--limit", f->limit, "At most this many keys")->capture_default_str();
  peers(ls);
  ls->callback([f, exit_code] { *exit_code = RunLs(*f); });
  CLI::App* stats = kv->add_subcommand("stats", "Per node and namespace: bytes, quota, keys, hits");
  peers(stats);
  stats->callback([f, exit_code] { *exit_code = RunStats(*f); });
  CLI::App* hash =
      kv->add_subcommand("hash", "Print the block keys (hex) of comma-separated token ids");
  hash->add_option("TOKENS", f->tokens, "Token ids: 1,2,3,...")->required();
  hash->add_option("--model", f->model, "Model id")->required();
  hash->add_option("--block-tokens", f->block_tokens, "Tokens per block")->capture_default_str();
  hash->add_option("--salt", f->salt, "Salt");
  hash->add_option("--extra", f->extra, "Extra key for the whole chain (e.g. a LoRA id)");
  hash->callback([f, exit_code] { *exit_code = RunHash(*f); });
}

}  // namespace unicache::cli

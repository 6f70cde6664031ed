// unicache warm: reads every block under ORIGIN[/PREFIX] once through the cluster, so the owners
// of the blocks cache them before a job starts.
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "common/object_path.h"
#include "common/units.h"
#include "progress.h"

namespace unicache::cli {
namespace {

struct WarmFlags {
  std::string peers;
  std::string discovery;
  std::string target;  // ORIGIN[/PREFIX]
  size_t parallelism = 8;
};

// Lists origin/prefix recursively (every page) into *out.
Status ListAll(Client& client, const std::string& origin, const std::string& prefix,
               std::vector<ListEntry>* out) {
  std::string token;
  do {
    ASSIGN_OR_RETURN(ListResult page, client.List(origin, prefix, "", token, 1000));
    for (ListEntry& e : page.entries) {
      if (!e.is_prefix) out->push_back(std::move(e));
    }
    token = page.next_token;
  } while (!token.empty());
  return Status::Ok();
}

// Reads every block of origin/path once, in parallel batches; adds the bytes to *done.
Status WarmObject(Client& client, const std::string& origin, const std::string& path,
                  std::vector<std::byte>& buffer, Progress& progress, uint64_t* done) {
  ASSIGN_OR_RETURN(ObjectStat stat, client.Stat(origin, path));
  for (uint64_t offset = 0; offset < stat.size;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), stat.size - offset));
    ASSIGN_OR_RETURN(size_t n, client.Read(origin, stat, offset, std::span(buffer.data(), want)));
    if (n == 0) return Unavailable("short read of " + origin + "/" + path);
    offset += n;
    *done += n;
    progress.Update(*done);
  }
  return Status::Ok();
}

int RunWarm(const WarmFlags& f) {
  size_t slash = f.target.find('/');
  std::string origin = f.target.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : f.target.substr(slash + 1);
  if (origin.empty()) return Fail("warm", InvalidArgument("expected ORIGIN[/PREFIX]"));
  if (Status st = ValidatePrefix(prefix); !st.ok()) return Fail("warm", st);
  ClientOptions options;
  options.parallelism = std::max<size_t>(1, f.parallelism);
  Result<std::unique_ptr<Client>> client = ConnectClient(f.peers, f.discovery, options);
  if (!client.ok()) {
    return Fail("warm", client.status(),
                "is a node running at " + PeerList(f.peers) + "? (--peers HOST:PORT)");
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<ListEntry> objects;
  if (Status st = ListAll(**client, origin, prefix, &objects); !st.ok()) return Fail("warm", st);
  if (objects.empty()) return Fail("warm", NotFound("no objects under " + f.target));
  uint64_t total = 0;
  for (const ListEntry& e : objects) total += e.size;
  // One Read() covers `parallelism` blocks, fetched from their owners at once.
  std::vector<std::byte> buffer((*client)->block_size() * options.parallelism);
  Progress progress("warm " + f.target, total);
  uint64_t done = 0;
  size_t failed = 0;
  Status first_error;
  for (const ListEntry& e : objects) {
    Status st = WarmObject(**client, origin, e.path, buffer, progress, &done);
    if (!st.ok()) {
      ++failed;
      std::fprintf(stderr, "unicache warm: %s/%s: %s\n", origin.c_str(), e.path.c_str(),
                   st.message().c_str());
      if (first_error.ok()) first_error = st;
    }
  }
  progress.Done();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("warmed %zu objects, %s (%llu bytes) in %.2f s (%s/s)\n", objects.size() - failed,
              FormatSize(done).c_str(), static_cast<unsigned long long>(done), seconds,
              FormatSize(static_cast<uint64_t>(static_cast<double>(done) / std::max(seconds, 1e-3)))
                  .c_str());
  if (failed > 0) {
    return Fail("warm",
                first_error.WithContext(std::to_string(failed) + " of " +
                                        std::to_string(objects.size()) + " objects failed"));
  }
  return 0;
}

}  // namespace

void AddWarmCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<WarmFlags>();
  CLI::App* cmd = app.add_subcommand(
      "warm", "Read every block under ORIGIN[/PREFIX] once so the cluster caches it");
  cmd->add_option("target", flags->target, "ORIGIN[/PREFIX]")->required();
  cmd->add_option("--peers", flags->peers,
                  "HOST:PORT[,...] of nodes (default: $UNICACHE_PEERS or 127.0.0.1:8470)");
  cmd->add_option("--discovery", flags->discovery,
                  "etcd:http://HOST:PORT[/prefix] or dns:NAME[:PORT] instead of --peers");
  cmd->add_option("-j,--parallelism", flags->parallelism, "Blocks in flight (default 8)");
  cmd->callback([flags, exit_code] { *exit_code = RunWarm(*flags); });
}

}  // namespace unicache::cli

// unicache get: downloads one object through the cache, to a file or stdout.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "common/object_path.h"
#include "progress.h"

namespace unicache::cli {
namespace {

struct GetFlags {
  std::string peers;
  std::string discovery;
  std::string target;  // ORIGIN/PATH
  std::string output;  // "" or "-" = stdout
  uint64_t chunk = 8ull << 20;
};

Status WriteAll(int fd, const std::byte* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status Download(const GetFlags& f, Client& client, const std::string& origin,
                const std::string& path, int fd) {
  ASSIGN_OR_RETURN(ObjectStat stat, client.Stat(origin, path));
  // The reader fetches each chunk's blocks from their owners in parallel and reads ahead.
  std::unique_ptr<ObjectReader> reader = client.Open(origin, stat);
  Progress progress("get " + origin + "/" + path, stat.size);
  std::vector<std::byte> buffer(f.chunk);
  uint64_t offset = 0;
  while (offset < stat.size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(f.chunk, stat.size - offset));
    ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, std::span(buffer.data(), want)));
    if (n != want) return Unavailable("short read from the cluster; retry");
    RETURN_IF_ERROR(WriteAll(fd, buffer.data(), n));
    offset += n;
    progress.Update(offset);
  }
  progress.Done();
  return Status::Ok();
}

int RunGet(const GetFlags& f) {
  size_t slash = f.target.find('/');
  if (slash == std::string::npos || slash == 0) {
    return Fail("get", InvalidArgument("expected ORIGIN/PATH, got '" + f.target + "'"));
  }
  std::string origin = f.target.substr(0, slash);
  std::string path = f.target.substr(slash + 1);
  if (Status st = ValidateObjectPath(path); !st.ok()) return Fail("get", st);
  ClientOptions options;
  options.readahead_blocks = 16;  // keeps the owners busy while a chunk is written out
  Result<std::unique_ptr<Client>> client = ConnectClient(f.peers, f.discovery, options);
  if (!client.ok()) {
    return Fail("get", client.status(),
                "is a node running at " + PeerList(f.peers) + "? (--peers HOST:PORT)");
  }
  bool to_stdout = f.output.empty() || f.output == "-";
  std::string tmp = f.output + ".unicache-part";
  int fd = to_stdout ? STDOUT_FILENO
                     : ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail("get", ErrnoStatus("open " + tmp, errno));
  Status st = Download(f, **client, origin, path, fd);
  if (!to_stdout) {
    ::close(fd);
    if (st.ok() && ::rename(tmp.c_str(), f.output.c_str()) != 0) st = ErrnoStatus("rename", errno);
    if (!st.ok()) ::unlink(tmp.c_str());
  }
  if (!st.ok()) {
    std::string hint;
    if (st.code() == StatusCode::kUnavailable)
      hint = "no member of the cluster could serve it; check `unicache status`";
    if (st.code() == StatusCode::kPreconditionFailed)
      hint = "the object changed during the download; run the command again";
    return Fail("get", st, hint);
  }
  return 0;
}

}  // namespace

void AddGetCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<GetFlags>();
  CLI::App* cmd = app.add_subcommand("get", "Download ORIGIN/PATH through the cache");
  cmd->add_option("target", flags->target, "ORIGIN/PATH")->required();
  cmd->add_option("-o,--output", flags->output, "Write to FILE (default: stdout)");
  cmd->add_option("--peers", flags->peers,
                  "HOST:PORT[,...] of nodes (default: $UNICACHE_PEERS or 127.0.0.1:8470)");
  cmd->add_option("--discovery", flags->discovery,
                  "etcd:http://HOST:PORT[/prefix] or dns:NAME[:PORT] instead of --peers");
  cmd->callback([flags, exit_code] { *exit_code = RunGet(*flags); });
}

}  // namespace unicache::cli

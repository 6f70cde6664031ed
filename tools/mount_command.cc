// unicache mount: presents ORIGIN[/PREFIX] as a FUSE file system, read through the cluster
// with the native client (direct read path). Stays in the foreground until unmounted
// (`fusermount3 -u MOUNTPOINT`) or stopped with SIGINT/SIGTERM; run it with `&`, nohup or a
// service manager to background it (no daemonizing: logs and exit status stay visible).
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli_util.h"
#include "commands.h"
#include "common/units.h"
#include "fuse/mount.h"
#include "fuse/path_map.h"

namespace unicache::cli {
namespace {

struct MountFlags {
  std::string peers;
  std::string discovery;
  std::string target;  // ORIGIN[/PREFIX]
  std::string mountpoint;
  bool write_through = false;
  bool immutable = false;
  std::string metadata_ttl = "10s";
  std::string stale_if_error = "1h";
  std::string timeout = "30s";
  std::string spool_dir;
  uint64_t max_read = 1 << 20;
  size_t threads = 16;
  size_t readahead_blocks = 4;
  bool allow_other = false;
  bool foreground = true;
  bool debug = false;
};

int RunMount(const MountFlags& f) {
  Result<fuse::MountTarget> target = fuse::ParseMountTarget(f.target);
  if (!target.ok()) return Fail("mount", target.status());
  Result<std::chrono::milliseconds> ttl = ParseDuration(f.metadata_ttl);
  if (!ttl.ok()) return Fail("mount", ttl.status().WithContext("--metadata-ttl"));
  Result<std::chrono::milliseconds> stale = ParseDuration(f.stale_if_error);
  if (!stale.ok()) return Fail("mount", stale.status().WithContext("--stale-if-error"));
  Result<std::chrono::milliseconds> timeout = ParseDuration(f.timeout);
  if (!timeout.ok()) return Fail("mount", timeout.status().WithContext("--timeout"));
  if (f.max_read < 4096 || f.max_read > (1u << 20)) {
    return Fail("mount", InvalidArgument("--max-read must be between 4KiB and 1MiB (the kernel's "
                                         "largest FUSE request)"));
  }
  if (Status st = fuse::ValidateMountpoint(f.mountpoint); !st.ok()) return Fail("mount", st);

  fuse::MountOptions options;
  options.fs.origin = target->origin;
  options.fs.root_key = target->root_key;
  options.fs.write_through = f.write_through;
  options.fs.immutable = f.immutable;
  options.fs.metadata_ttl = *ttl;
  options.fs.stale_if_error = *stale;
  options.fs.max_read = f.max_read;
  options.fs.spool_dir = f.spool_dir;
  if (options.fs.spool_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    options.fs.spool_dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  options.mountpoint = f.mountpoint;
  options.max_threads = f.threads;
  options.allow_other = f.allow_other;
  options.debug = f.debug;

  ClientOptions client_options;
  client_options.timeout = *timeout;
  client_options.readahead_blocks = f.readahead_blocks;
  Result<std::unique_ptr<Client>> client = ConnectClient(f.peers, f.discovery, client_options);
  if (!client.ok()) {
    return Fail("mount", client.status(), "is a node running? (--peers HOST:PORT)");
  }
  Result<bool> has_objects = fuse::CheckOrigin(**client, options.fs.origin, options.fs.root_key);
  if (!has_objects.ok()) return Fail("mount", has_objects.status());
  if (!*has_objects) {
    // Not an error: a write-through mount may be meant for new objects, and objects may come.
    std::fprintf(stderr, "unicache mount: warning: no objects under %s yet; the mount is empty\n",
                 f.target.c_str());
  }
  Result<std::unique_ptr<fuse::MountSession>> session =
      fuse::MountSession::Create(**client, options);
  if (!session.ok()) return Fail("mount", session.status());
  std::fprintf(stderr, "unicache mount: %s mounted at %s (%s); stop with fusermount3 -u %s\n",
               f.target.c_str(), f.mountpoint.c_str(),
               f.write_through ? "write-through" : "read-only", f.mountpoint.c_str());
  Status st = (*session)->Run();
  session->reset();  // before the client it borrows
  if (!st.ok()) return Fail("mount", st);
  return 0;
}

}  // namespace

void AddMountCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<MountFlags>();
  CLI::App* cmd = app.add_subcommand(
      "mount",
      "Mount ORIGIN[/PREFIX] at MOUNTPOINT as a FUSE file system (read-only unless "
      "--write-through). Runs in the foreground until `fusermount3 -u MOUNTPOINT`, SIGINT or "
      "SIGTERM.");
  cmd->add_option("target", flags->target, "ORIGIN[/PREFIX]")->required();
  cmd->add_option("mountpoint", flags->mountpoint, "An existing, empty directory")->required();
  cmd->add_option("--peers", flags->peers,
                  "HOST:PORT,... of nodes (default: $UNICACHE_PEERS or 127.0.0.1:8470)");
  cmd->add_option("--discovery", flags->discovery,
                  "etcd:http://HOST:PORT[/prefix] or dns:NAME[:PORT]");
  cmd->add_flag("--write-through", flags->write_through,
                "Allow creating and writing files; each is uploaded (PUT) when closed, and "
                "close() returns after the origin has it. rename/unlink/rmdir are not supported");
  cmd->add_flag("--immutable", flags->immutable,
                "The origin's objects never change: cache attributes, listings and file pages "
                "(kernel page cache) forever");
  cmd->add_option("--metadata-ttl", flags->metadata_ttl,
                  "How long listings and attributes are trusted (default 10s)");
  cmd->add_option("--stale-if-error", flags->stale_if_error,
                  "While listing fails (the origin unreachable), keep using directory listings "
                  "this long past --metadata-ttl; 0 turns it off (default 1h)");
  cmd->add_option("--timeout", flags->timeout,
                  "Per-request timeout of the client; a dead cluster gives EIO after it "
                  "(default 30s)");
  cmd->add_option("--spool-dir", flags->spool_dir,
                  "Where files being written are staged (default $TMPDIR or /tmp)");
  AddSizeOption(*cmd, "--max-read", &flags->max_read,
                "Largest FUSE read/write request (default 1MiB)");
  cmd->add_option("--threads", flags->threads, "FUSE worker threads (default 16)");
  cmd->add_option("--readahead-blocks", flags->readahead_blocks,
                  "Blocks the client prefetches ahead of a sequential reader (default 4)");
  cmd->add_flag("--allow-other", flags->allow_other, "Let other users see the mount");
  cmd->add_flag("--foreground", flags->foreground,
                "Accepted for compatibility: the mount always stays in the foreground");
  cmd->add_flag("--fuse-debug", flags->debug, "Print libfuse's request trace");
  cmd->callback([flags, exit_code] { *exit_code = RunMount(*flags); });
}

}  // namespace unicache::cli

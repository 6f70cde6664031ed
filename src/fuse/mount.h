// Mounting: argument checks, the libfuse session and its multi-threaded loop.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"
#include "fuse/fuse_fs.h"
#include "unicache/client.h"

namespace unicache::fuse {

struct MountOptions {
  FsOptions fs;
  std::string mountpoint;
  size_t max_threads = 16;   // libfuse worker threads
  bool allow_other = false;  // -o allow_other (needs user_allow_other for non-root)
  bool debug = false;        // libfuse's request trace on stderr
  // Kernel readahead for the mount (the bdi's read_ahead_kb; the kernel's FUSE default is
  // 128 KiB, which splits sequential reads into 128 KiB requests). Set when permitted (root);
  // 0 leaves the default.
  size_t read_ahead_kb = 1024;
  // SIGINT/SIGTERM/SIGHUP end Run() (and unmount). Tests that run a session in a thread
  // leave them alone.
  bool handle_signals = true;
};

// Checks that `path` is an existing, empty directory that is not already a mount.
Status ValidateMountpoint(const std::string& path);

// Checks that the cluster serves `origin`, by listing one entry under `prefix` ("" or ending in
// '/'); returns whether anything is there. NotFound for an origin the cluster does not serve.
Result<bool> CheckOrigin(Client& client, const std::string& origin, const std::string& prefix);

// One mounted file system. Not thread-safe, except Unmount(), which may be called from any
// thread while Run() serves requests.
class MountSession {
 public:
  // Creates the session and mounts it at options.mountpoint. `client` is borrowed and must
  // outlive the session.
  static Result<std::unique_ptr<MountSession>> Create(Client& client, const MountOptions& options);
  ~MountSession();
  MountSession(const MountSession&) = delete;
  MountSession& operator=(const MountSession&) = delete;

  // Serves requests until the file system is unmounted (`fusermount3 -u`, umount) or, with
  // handle_signals, SIGINT/SIGTERM/SIGHUP arrive; then unmounts. Returns Ok on a clean end.
  Status Run();

  // Detaches the mount, which ends Run().
  void Unmount();

  FuseFs& fs() { return *fs_; }

 private:
  MountSession(std::unique_ptr<FuseFs> fs, MountOptions options)
      : fs_(std::move(fs)), options_(std::move(options)) {}

  std::unique_ptr<FuseFs> fs_;
  MountOptions options_;
  fuse_session* session_ = nullptr;
  bool mounted_ = false;
};

}  // namespace unicache::fuse

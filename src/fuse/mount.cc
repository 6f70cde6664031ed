#include "fuse/mount.h"

#include <dirent.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace unicache::fuse {
namespace {

bool IsMounted(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return false;
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string dev, dir;
    fields >> dev >> dir;
    if (dir == resolved) return true;
  }
  return false;
}

// Raises the kernel readahead of the mount at `path` to `kb` through
// /sys/class/bdi/MAJOR:MINOR/read_ahead_kb, finding the device in /proc/self/mountinfo (a
// stat() of the mountpoint would wait for our own, not yet running, request loop).
void SetReadAhead(const std::string& path, size_t kb) {
  char resolved[PATH_MAX];
  if (kb == 0 || ::realpath(path.c_str(), resolved) == nullptr) return;
  std::ifstream info("/proc/self/mountinfo");
  std::string line, device;
  while (std::getline(info, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, dir;
    fields >> id >> parent >> dev >> root >> dir;
    if (dir == resolved) device = dev;  // the last (topmost) mount wins
  }
  if (device.empty()) return;
  std::ofstream ra("/sys/class/bdi/" + device + "/read_ahead_kb");
  ra << kb << "\n";
  ra.flush();
  if (!ra) {
    spdlog::debug("cannot set read_ahead_kb of {} (not root?); the kernel default stays", path);
  }
}

}  // namespace

Status ValidateMountpoint(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoStatus("mountpoint " + path, errno);
  }
  if (!S_ISDIR(st.st_mode)) return InvalidArgument("mountpoint " + path + " is not a directory");
  if (IsMounted(path)) return InvalidArgument("mountpoint " + path + " is already a mount");
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return ErrnoStatus("mountpoint " + path, errno);
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  if (!empty) return InvalidArgument("mountpoint " + path + " is not empty");
  return Status::Ok();
}

Result<bool> CheckOrigin(Client& client, const std::string& origin, const std::string& prefix) {
  Result<ListResult> r = client.List(origin, prefix, "/", "", 1);
  if (r.ok()) return !r->entries.empty();
  if (r.status().code() == StatusCode::kNotFound) {
    return NotFound("the cluster has no origin named '" + origin + "'");
  }
  if (r.status().code() == StatusCode::kUnimplemented) {
    return r.status().WithContext("origin '" + origin +
                                  "' has no listings, which a mount needs for its directories");
  }
  return r.status().WithContext("list origin '" + origin + "'");
}

Result<std::unique_ptr<MountSession>> MountSession::Create(Client& client,
                                                           const MountOptions& options) {
  auto fs = std::make_unique<FuseFs>(client, options.fs);
  std::unique_ptr<MountSession> s(new MountSession(std::move(fs), options));
  std::string fsname = "unicache:" + options.fs.origin +
                       (options.fs.root_key.empty() ? "" : "/" + options.fs.root_key);
  if (fsname.back() == '/') fsname.pop_back();
  std::string opts = "fsname=" + fsname + ",subtype=unicache,default_permissions,max_read=" +
                     std::to_string(options.fs.max_read);
  if (!options.fs.write_through) opts += ",ro";
  if (options.allow_other) opts += ",allow_other";
  std::vector<std::string> argv = {"unicache", "-o", opts};
  if (options.debug) argv.push_back("-d");
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(cargv.size()), cargv.data());
  s->session_ =
      fuse_session_new(&args, &FuseFs::Operations(), sizeof(fuse_lowlevel_ops), s->fs_.get());
  // fuse_session_new may copy argv into heap memory owned by args; it keeps nothing of it.
  fuse_opt_free_args(&args);
  if (s->session_ == nullptr) return Internal("fuse_session_new failed (see the message above)");
  if (fuse_session_mount(s->session_, options.mountpoint.c_str()) != 0) {
    return Unavailable("cannot mount at " + options.mountpoint +
                       " (is /dev/fuse available and fusermount3 installed?)");
  }
  s->mounted_ = true;
  SetReadAhead(options.mountpoint, options.read_ahead_kb);
  return s;
}

MountSession::~MountSession() {
  if (session_ != nullptr) {
    if (mounted_) fuse_session_unmount(session_);
    fuse_session_destroy(session_);
  }
}

Status MountSession::Run() {
  if (options_.handle_signals && fuse_set_signal_handlers(session_) != 0) {
    return Internal("cannot install signal handlers");
  }
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(options_.max_threads));
  fuse_loop_cfg_set_idle_threads(cfg, 4);
  // Returns 0 when unmounted, the signal number after SIGINT/SIGTERM/SIGHUP, -errno on error.
  int rc = fuse_session_loop_mt(session_, cfg);
  fuse_loop_cfg_destroy(cfg);
  if (options_.handle_signals) fuse_remove_signal_handlers(session_);
  fuse_session_unmount(session_);
  mounted_ = false;
  if (rc < 0) return Internal(std::string("fuse loop: ") + std::strerror(-rc));
  if (rc > 0) spdlog::info("unmounted {} after signal {}", options_.mountpoint, rc);
  return Status::Ok();
}

void MountSession::Unmount() {
  if (::umount2(options_.mountpoint.c_str(), MNT_DETACH) == 0) return;
  // Not root: ask the setuid helper.
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("fusermount3", "fusermount3", "-u", "-z", "-q", options_.mountpoint.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

}  // namespace unicache::fuse

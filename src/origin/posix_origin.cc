#include "origin/posix_origin.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace unicache {
namespace {

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string VersionOf(const struct stat& st) {
  char buf[96];
  std::snprintf(
      buf, sizeof buf, "%llx-%llx-%llx-%llx", static_cast<unsigned long long>(st.st_size),
      static_cast<unsigned long long>(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec),
      static_cast<unsigned long long>(st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec),
      static_cast<unsigned long long>(st.st_ino));
  return buf;
}

ObjectInfo InfoOf(std::string path, const struct stat& st) {
  ObjectInfo info;
  info.path = std::move(path);
  info.size = static_cast<uint64_t>(st.st_size);
  info.version = VersionOf(st);
  info.mtime_ms = st.st_mtim.tv_sec * 1000LL + st.st_mtim.tv_nsec / 1000000;
  return info;
}

class PosixOrigin final : public Origin {
 public:
  PosixOrigin(std::string root, int root_fd) : root_(std::move(root)), root_fd_(root_fd) {}

  std::string_view Scheme() const override { return "file"; }

  Result<ObjectInfo> Stat(std::string_view path) override {
    ASSIGN_OR_RETURN(Fd fd, OpenBeneath(path, O_RDONLY));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", errno);
    if (!S_ISREG(st.st_mode)) return NotFound("not a regular file: " + std::string(path));
    return InfoOf(std::string(path), st);
  }

  Result<size_t> Read(std::string_view path, std::string_view version, uint64_t offset,
                      std::span<std::byte> dst) override {
    ASSIGN_OR_RETURN(Fd fd, OpenBeneath(path, O_RDONLY));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", errno);
    if (!S_ISREG(st.st_mode)) return NotFound("not a regular file: " + std::string(path));
    if (VersionOf(st) != version) {
      return PreconditionFailed("object changed: " + std::string(path));
    }
    size_t done = 0;
    while (done < dst.size()) {
      ssize_t n = ::pread(fd.get(), dst.data() + done, dst.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read " + std::string(path), errno);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    // A file rewritten in place while we read it would mix versions: check again.
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", errno);
    if (VersionOf(st) != version) return PreconditionFailed("object changed: " + std::string(path));
    return done;
  }

  Result<ListPage> List(const ListOptions& options) override {
    // The directory to walk is the prefix up to its last '/'; the rest filters names.
    const std::string& prefix = options.prefix;
    size_t slash = prefix.rfind('/');
    std::string dir = slash == std::string::npos ? "" : prefix.substr(0, slash);
    std::vector<ObjectInfo> objects;
    std::vector<std::string> prefixes;
    bool recursive = options.delimiter.empty();
    Status st = Walk(dir, prefix, recursive, &objects, &prefixes);
    if (!st.ok()) {
      if (st.code() == StatusCode::kNotFound) return ListPage{};
      return st;
    }
    // Merge objects and prefixes in path order, then cut the page after options.token.
    struct Entry {
      std::string key;
      int object_index;  // -1 for a prefix
    };
    std::vector<Entry> entries;
    entries.reserve(objects.size() + prefixes.size());
    for (size_t i = 0; i < objects.size(); ++i)
      entries.push_back({objects[i].path, static_cast<int>(i)});
    for (auto& p : prefixes) entries.push_back({p, -1});
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.key < b.key; });
    ListPage page;
    size_t max_keys = std::max<size_t>(1, options.max_keys);
    for (const Entry& e : entries) {
      if (!options.token.empty() && e.key <= options.token) continue;
      if (page.objects.size() + page.prefixes.size() == max_keys) {
        page.next_token = page.objects.empty() && page.prefixes.empty() ? "" : LastKey(page);
        break;
      }
      if (e.object_index < 0)
        page.prefixes.push_back(e.key);
      else
        page.objects.push_back(std::move(objects[static_cast<size_t>(e.object_index)]));
    }
    return page;
  }

  // Removes the file, then its directories that are left empty (an object store has no empty
  // directories: a prefix exists while a key under it does).
  Status Delete(std::string_view path) override {
    std::string rel(path);
    if (::unlinkat(root_fd_.get(), rel.c_str(), 0) != 0) {
      if (errno == ENOENT) return Status::Ok();
      if (errno == EISDIR || errno == EPERM) return NotFound(rel + " is a directory");
      return ErrnoStatus("unlink " + rel, errno);
    }
    for (size_t slash = rel.rfind('/'); slash != std::string::npos && slash > 0;
         slash = rel.rfind('/')) {
      rel.resize(slash);
      if (::unlinkat(root_fd_.get(), rel.c_str(), AT_REMOVEDIR) != 0) break;
    }
    return Status::Ok();
  }

  Result<ObjectInfo> WriteStream(std::string_view path, uint64_t size,
                                 const ByteSource& source) override {
    std::string rel(path);
    size_t slash = rel.rfind('/');
    if (slash != std::string::npos) RETURN_IF_ERROR(MakeDirs(rel.substr(0, slash)));
    static std::atomic<uint64_t> writes{0};
    std::string tmp = rel + ".unicache-tmp-" + std::to_string(::getpid()) + "-" +
                      std::to_string(writes.fetch_add(1));
    Status written = WriteTemp(tmp, rel, size, source);
    if (written.ok() && ::renameat(root_fd_.get(), tmp.c_str(), root_fd_.get(), rel.c_str()) != 0) {
      written = ErrnoStatus("rename " + rel, errno);
    }
    if (!written.ok()) {
      ::unlinkat(root_fd_.get(), tmp.c_str(), 0);
      return written;
    }
    return Stat(path);
  }

 private:
  // Writes the `size` bytes of `source` into the new file `tmp` (for `rel`) and syncs it.
  Status WriteTemp(const std::string& tmp, const std::string& rel, uint64_t size,
                   const ByteSource& source) {
    ASSIGN_OR_RETURN(Fd fd, OpenBeneath(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, 0644));
    std::vector<std::byte> piece(std::min<uint64_t>(size, 1 << 20));
    uint64_t done = 0;
    while (done < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(piece.size(), size - done));
      ASSIGN_OR_RETURN(size_t n, source(std::span(piece.data(), want)));
      if (n == 0) {
        return InvalidArgument("the body of " + rel + " ended after " + std::to_string(done) +
                               " of " + std::to_string(size) + " bytes");
      }
      for (size_t off = 0; off < n;) {
        ssize_t w = ::write(fd.get(), piece.data() + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return ErrnoStatus("write " + rel, errno);
        off += static_cast<size_t>(w);
      }
      done += n;
    }
    if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + rel, errno);
    return Status::Ok();
  }

  static std::string LastKey(const ListPage& page) {
    std::string last;
    if (!page.objects.empty()) last = page.objects.back().path;
    if (!page.prefixes.empty() && page.prefixes.back() > last) last = page.prefixes.back();
    return last;
  }

  // Opens `rel` beneath the root; symlinks may not leave it.
  Result<Fd> OpenBeneath(std::string_view rel, int flags, mode_t mode = 0) const {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    std::string path = rel.empty() ? "." : std::string(rel);
    long fd = ::syscall(SYS_openat2, root_fd_.get(), path.c_str(), &how, sizeof how);
    if (fd < 0) {
      int err = errno;
      if (err == EXDEV) return PermissionDenied("path escapes the origin root: " + path);
      return ErrnoStatus(path, err);
    }
    return Fd(static_cast<int>(fd));
  }

  Status MakeDirs(const std::string& rel) {
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = rel.find('/', pos + 1);
      std::string part = rel.substr(0, pos);
      if (::mkdirat(root_fd_.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus("mkdir " + part, errno);
      }
      ASSIGN_OR_RETURN(Fd check, OpenBeneath(part, O_RDONLY | O_DIRECTORY));
      (void)check;
    }
    return Status::Ok();
  }

  // Collects entries under directory `dir` (relative) whose path starts with `prefix`.
  Status Walk(const std::string& dir, const std::string& prefix, bool recursive,
              std::vector<ObjectInfo>* objects, std::vector<std::string>* prefixes) const {
    ASSIGN_OR_RETURN(Fd fd, OpenBeneath(dir, O_RDONLY | O_DIRECTORY));
    DIR* d = ::fdopendir(::dup(fd.get()));
    if (d == nullptr) return ErrnoStatus("opendir " + dir, errno);
    std::vector<std::string> subdirs;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == ".." || name.find(".unicache-tmp-") != std::string::npos) continue;
      std::string rel = dir.empty() ? name : dir + "/" + name;
      struct stat st;
      if (::fstatat(fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISLNK(st.st_mode)) {
        // Follow symlinks only where they stay beneath the root.
        auto target = OpenBeneath(rel, O_RDONLY);
        if (!target.ok() || ::fstat(target->get(), &st) != 0) continue;
      }
      if (S_ISDIR(st.st_mode)) {
        std::string as_prefix = rel + "/";
        if (!as_prefix.starts_with(prefix) && !prefix.starts_with(as_prefix)) continue;
        if (recursive)
          subdirs.push_back(rel);
        else if (as_prefix.starts_with(prefix))
          prefixes->push_back(as_prefix);
        else
          subdirs.push_back(rel);  // the prefix reaches inside this directory
      } else if (S_ISREG(st.st_mode) && rel.starts_with(prefix)) {
        objects->push_back(InfoOf(rel, st));
      }
    }
    ::closedir(d);
    for (const std::string& sub : subdirs) {
      Status s = Walk(sub, prefix, recursive, objects, prefixes);
      if (!s.ok() && s.code() != StatusCode::kNotFound &&
          s.code() != StatusCode::kPermissionDenied) {
        return s;
      }
    }
    return Status::Ok();
  }

  std::string root_;
  Fd root_fd_;
};

}  // namespace

Result<std::unique_ptr<Origin>> OpenPosixOrigin(const std::string& root) {
  char resolved[PATH_MAX];
  if (::realpath(root.c_str(), resolved) == nullptr) {
    return ErrnoStatus("origin directory " + root, errno);
  }
  int fd = ::open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("origin directory " + root, errno);
  return std::unique_ptr<Origin>(new PosixOrigin(resolved, fd));
}

}  // namespace unicache

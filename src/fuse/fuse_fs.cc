#include "fuse/fuse_fs.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fuse/errno_map.h"
#include "fuse/path_map.h"
#include "fuse/write_spool.h"

namespace unicache::fuse {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FuseFs& Fs(fuse_req_t req) { return *static_cast<FuseFs*>(fuse_req_userdata(req)); }

void ReplyStatus(fuse_req_t req, const Status& st, const char* op) {
  int err = ErrnoFromStatus(st);
  if (err == EIO || err == ESTALE) spdlog::warn("fuse {}: {}", op, st.ToString());
  fuse_reply_err(req, err);
}

}  // namespace

// One open file: either a reader of one object version or a local spool being written.
struct FuseFs::FileHandle {
  std::mutex mu;
  uint64_t ino = 0;
  std::string key;
  ObjectStat stat;                       // the version read (read handles)
  std::unique_ptr<ObjectReader> reader;  // read handles; guarded by mu
  std::unique_ptr<WriteSpool> spool;     // write handles; guarded by mu
};

// One open directory: the listing as it was at opendir, so readdir offsets stay stable.
struct FuseFs::DirHandle {
  uint64_t ino = 0;
  std::string key;
  std::shared_ptr<const DirListing> listing;
};

FuseFs::FuseFs(Client& client, FsOptions options)
    : client_(client),
      options_(std::move(options)),
      mount_time_ms_(NowMs()),
      inodes_(options_.root_key),
      dirs_(client, options_.origin,
            options_.immutable ? std::chrono::milliseconds::max() : options_.metadata_ttl,
            options_.stale_if_error) {
  NodeAttr root;
  root.is_dir = true;
  root.mtime_ms = mount_time_ms_;
  inodes_.SetAttr(InodeTable::kRootIno, root);
}

FuseFs::~FuseFs() = default;

double FuseFs::TtlSeconds() const {
  if (options_.immutable || options_.metadata_ttl == std::chrono::milliseconds::max()) {
    return 365.0 * 86400;
  }
  return static_cast<double>(options_.metadata_ttl.count()) / 1000.0;
}

struct stat FuseFs::ToStat(uint64_t ino, const NodeAttr& attr) const {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  st.st_ino = ino;
  if (attr.is_dir) {
    st.st_mode = S_IFDIR | (options_.write_through ? 0755 : 0555);
    st.st_nlink = 2;
  } else {
    st.st_mode = S_IFREG | (options_.write_through ? 0644 : 0444);
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(attr.size);
    st.st_blocks = static_cast<blkcnt_t>((attr.size + 511) / 512);
  }
  // Tools size their buffers by st_blksize (cp, cat): ask for whole max_read requests.
  st.st_blksize = static_cast<blksize_t>(options_.max_read);
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  int64_t ms = attr.mtime_ms != 0 ? attr.mtime_ms : mount_time_ms_;
  st.st_mtim.tv_sec = ms / 1000;
  st.st_mtim.tv_nsec = (ms % 1000) * 1000000;
  st.st_ctim = st.st_mtim;
  st.st_atim = st.st_mtim;
  return st;
}

fuse_entry_param FuseFs::ToEntry(uint64_t ino, const NodeAttr& attr) const {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = ino;
  e.attr = ToStat(ino, attr);
  e.attr_timeout = TtlSeconds();
  e.entry_timeout = TtlSeconds();
  return e;
}

NodeAttr FuseFs::AttrFrom(const DirEntry& e) const {
  NodeAttr a;
  a.is_dir = e.is_dir;
  a.size = e.size;
  a.mtime_ms = e.is_dir ? mount_time_ms_ : e.mtime_ms;
  a.version = e.version;
  a.fetched = Clock::now();
  return a;
}

void FuseFs::AddWriter(const std::string& key) {
  std::lock_guard lock(writers_mu_);
  ++writers_[key];
}

void FuseFs::RemoveWriter(const std::string& key) {
  std::lock_guard lock(writers_mu_);
  if (--writers_[key] <= 0) writers_.erase(key);
}

bool FuseFs::IsWritten(const std::string& key) {
  std::lock_guard lock(writers_mu_);
  return writers_.count(key) != 0;
}

Result<NodeAttr> FuseFs::FreshAttr(const Node& node) {
  const NodeAttr& a = node.attr;
  if (a.is_dir || options_.immutable || IsWritten(node.key)) return a;
  bool stale = a.version.empty() || Clock::now() - a.fetched >= options_.metadata_ttl;
  if (!stale) return a;
  Result<ObjectStat> st = client_.Stat(options_.origin, node.key);
  if (!st.ok()) return st.status();
  NodeAttr fresh = a;
  fresh.fetched = Clock::now();
  if (st->version != a.version) {  // one version has one set of attributes, however learned
    fresh.size = st->size;
    fresh.version = st->version;
    fresh.mtime_ms = st->mtime_ms;
  }
  inodes_.SetAttr(node.ino, fresh);
  return fresh;
}

void FuseFs::Init(fuse_conn_info* conn) {
  // Big requests: one FUSE round trip per MiB, not per 128 KiB. libfuse derives max_pages
  // from max_write, which also lifts the kernel's limit on read requests.
  conn->max_write = static_cast<unsigned>(options_.max_read);
  conn->max_read = static_cast<unsigned>(options_.max_read);
  conn->max_readahead =
      std::max<unsigned>(conn->max_readahead, static_cast<unsigned>(options_.max_read));
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  unsigned want = FUSE_CAP_ASYNC_READ | FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_READDIRPLUS |
                  FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_PARALLEL_DIROPS;
  conn->want |= want & conn->capable;
  // Without this the kernel drops cached pages whenever the size or mtime it sees changes;
  // keep_cache on open (decided per object version) is the only invalidation we want.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

void FuseFs::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  std::optional<Node> dir = inodes_.Get(parent);
  if (!dir) return (void)fuse_reply_err(req, ENOENT);
  if (!dir->attr.is_dir) return (void)fuse_reply_err(req, ENOTDIR);
  std::string n(name);
  if (Status st = ValidateName(n); !st.ok()) {
    return (void)fuse_reply_err(req, n.size() > 255 ? ENAMETOOLONG : ENOENT);
  }
  Result<std::optional<DirEntry>> found = dirs_.Find(dir->key, n);
  if (!found.ok()) return ReplyStatus(req, found.status(), "lookup");
  if (!found->has_value()) {
    fuse_entry_param e;
    std::memset(&e, 0, sizeof(e));
    e.entry_timeout = options_.write_through ? 0 : TtlSeconds();  // a negative entry
    return (void)fuse_reply_entry(req, &e);
  }
  const DirEntry& d = **found;
  std::string key = ChildKey(dir->key, d.name, d.is_dir);
  bool written = !d.is_dir && IsWritten(key);
  uint64_t ino = inodes_.Lookup(key, AttrFrom(d), written);
  NodeAttr attr = written ? inodes_.Get(ino)->attr : AttrFrom(d);
  fuse_entry_param e = ToEntry(ino, attr);
  if (fuse_reply_entry(req, &e) != 0) inodes_.Forget(ino, 1);
}

void FuseFs::Forget(fuse_ino_t ino, uint64_t nlookup) { inodes_.Forget(ino, nlookup); }

void FuseFs::GetAttr(fuse_req_t req, fuse_ino_t ino) {
  std::optional<Node> node = inodes_.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ENOENT);
  Result<NodeAttr> attr = FreshAttr(*node);
  if (!attr.ok()) return ReplyStatus(req, attr.status(), "getattr");
  struct stat st = ToStat(ino, *attr);
  fuse_reply_attr(req, &st, TtlSeconds());
}

void FuseFs::SetAttr(fuse_req_t req, fuse_ino_t ino, const struct stat* attr, int to_set,
                     fuse_file_info* fi) {
  std::optional<Node> node = inodes_.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ENOENT);
  if ((to_set & FUSE_SET_ATTR_SIZE) != 0) {
    if (!options_.write_through) return (void)fuse_reply_err(req, EROFS);
    if (node->attr.is_dir) return (void)fuse_reply_err(req, EISDIR);
    uint64_t size = static_cast<uint64_t>(attr->st_size);
    if (fi != nullptr && fi->fh != 0) {
      auto* h = reinterpret_cast<FileHandle*>(fi->fh);
      // Replies go out after the handle's lock is released: once the kernel has the reply it
      // may release the handle, and a lock held then would be unlocked in freed memory.
      bool spooled = false;
      Status st;
      {
        std::lock_guard lock(h->mu);
        spooled = h->spool != nullptr;
        if (spooled) st = h->spool->Truncate(size);
      }
      if (!spooled) return (void)fuse_reply_err(req, EBADF);
      if (!st.ok()) return ReplyStatus(req, st, "truncate");
      inodes_.SetSize(ino, size);
    } else if (size == 0) {
      // truncate(path, 0) without an open handle: write an empty object.
      Result<ObjectStat> w = client_.Write(options_.origin, node->key, {});
      if (!w.ok()) return ReplyStatus(req, w.status(), "truncate");
      NodeAttr a = node->attr;
      a.size = 0;
      a.version = w->version;
      a.mtime_ms = w->mtime_ms;
      a.fetched = Clock::now();
      inodes_.SetAttr(ino, a);
    } else {
      return (void)fuse_reply_err(req, ENOTSUP);  // would need the object downloaded first
    }
  }
  // Mode, owner and times are not stored by object stores: accept and ignore them, so that
  // `cp -p`, `touch` and `rsync -t` do not fail.
  node = inodes_.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ENOENT);
  struct stat st = ToStat(ino, node->attr);
  fuse_reply_attr(req, &st, TtlSeconds());
}

Status FuseFs::LoadIntoSpool(FileHandle& h, const NodeAttr& attr) {
  ObjectStat object;
  object.path = h.key;
  object.size = attr.size;
  object.version = attr.version;
  object.mtime_ms = attr.mtime_ms;
  if (object.version.empty()) {
    ASSIGN_OR_RETURN(object, client_.Stat(options_.origin, h.key));
  }
  std::vector<std::byte> buf(8 << 20);
  uint64_t off = 0;
  while (off < object.size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), object.size - off));
    ASSIGN_OR_RETURN(size_t n,
                     client_.Read(options_.origin, object, off, std::span(buf.data(), want)));
    if (n == 0) return Unavailable("short read while copying " + h.key + " for writing");
    RETURN_IF_ERROR(h.spool->Write(off, std::span(buf.data(), n)));
    off += n;
  }
  h.spool->set_dirty(false);  // unchanged until the first write
  return Status::Ok();
}

void FuseFs::Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::optional<Node> node = inodes_.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ENOENT);
  if (node->attr.is_dir) return (void)fuse_reply_err(req, EISDIR);
  int acc = fi->flags & O_ACCMODE;
  bool writing = acc == O_WRONLY || acc == O_RDWR || (fi->flags & O_TRUNC) != 0;
  auto h = std::make_unique<FileHandle>();
  h->ino = ino;
  h->key = node->key;
  if (writing) {
    if (!options_.write_through) return (void)fuse_reply_err(req, EROFS);
    Result<std::unique_ptr<WriteSpool>> spool = WriteSpool::Create(options_.spool_dir);
    if (!spool.ok()) return ReplyStatus(req, spool.status(), "open");
    h->spool = std::move(*spool);
    if ((fi->flags & O_TRUNC) != 0) {
      if (Status st = h->spool->Truncate(0); !st.ok()) return ReplyStatus(req, st, "open");
      inodes_.SetSize(ino, 0);
    } else {
      Result<NodeAttr> attr = FreshAttr(*node);
      if (!attr.ok()) return ReplyStatus(req, attr.status(), "open");
      if (Status st = LoadIntoSpool(*h, *attr); !st.ok()) return ReplyStatus(req, st, "open");
    }
    AddWriter(h->key);
    fi->direct_io = 0;
    fi->keep_cache = 0;
  } else {
    Result<NodeAttr> attr = FreshAttr(*node);
    if (!attr.ok()) return ReplyStatus(req, attr.status(), "open");
    h->stat.path = node->key;
    h->stat.size = attr->size;
    h->stat.version = attr->version;
    h->stat.mtime_ms = attr->mtime_ms;
    h->reader = client_.Open(options_.origin, h->stat);
    // The kernel keeps this file's cached pages only while they belong to the same version.
    bool same_version = inodes_.SwapCachedVersion(ino, h->stat.version);
    fi->keep_cache = options_.immutable || same_version ? 1 : 0;
    fi->noflush = 1;
  }
  fi->fh = reinterpret_cast<uint64_t>(h.get());
  if (fuse_reply_open(req, fi) != 0) {
    if (h->spool) RemoveWriter(h->key);
    return;  // the handle is freed; the kernel will not release it
  }
  h.release();
}

void FuseFs::Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                    fuse_file_info* fi) {
  if (!options_.write_through) return (void)fuse_reply_err(req, EROFS);
  if (!S_ISREG(mode)) return (void)fuse_reply_err(req, ENOTSUP);
  std::optional<Node> dir = inodes_.Get(parent);
  if (!dir) return (void)fuse_reply_err(req, ENOENT);
  std::string n(name);
  if (Status st = ValidateName(n); !st.ok()) {
    return (void)fuse_reply_err(req, n.size() > 255 ? ENAMETOOLONG : EINVAL);
  }
  auto h = std::make_unique<FileHandle>();
  h->key = ChildKey(dir->key, n, false);
  Result<std::unique_ptr<WriteSpool>> spool = WriteSpool::Create(options_.spool_dir);
  if (!spool.ok()) return ReplyStatus(req, spool.status(), "create");
  h->spool = std::move(*spool);
  h->spool->set_dirty(true);  // an empty file is still a file: upload it on close
  NodeAttr attr;
  attr.mtime_ms = NowMs();
  attr.fetched = Clock::now();
  AddWriter(h->key);
  h->ino = inodes_.Lookup(h->key, attr);
  DirEntry d;
  d.name = n;
  d.mtime_ms = attr.mtime_ms;
  dirs_.AddLocal(dir->key, d);
  fuse_entry_param e = ToEntry(h->ino, attr);
  e.attr_timeout = 0;  // the size changes with every write
  fi->fh = reinterpret_cast<uint64_t>(h.get());
  if (fuse_reply_create(req, &e, fi) != 0) {
    RemoveWriter(h->key);
    inodes_.Forget(h->ino, 1);
    return;
  }
  h.release();
}

void FuseFs::Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  auto* h = reinterpret_cast<FileHandle*>(fi->fh);
  // One buffer per libfuse worker thread: no allocation (and no page faults) per request.
  thread_local std::vector<std::byte> buf;
  if (buf.size() < size) buf.resize(size);
  size_t got = 0;
  Status error;
  {
    // Every reply goes out after the lock is released: once the kernel has it, it may release
    // the handle, and the lock would then be unlocked in freed memory.
    std::lock_guard lock(h->mu);
    uint64_t offset = static_cast<uint64_t>(off);
    if (h->spool) {
      Result<size_t> n = h->spool->Read(offset, std::span(buf.data(), size));
      if (n.ok()) got = *n;
      error = n.status();
    } else {
      while (got < size) {
        Result<size_t> n = h->reader->ReadAt(offset + got, std::span(buf.data() + got, size - got));
        if (!n.ok()) {
          error = n.status();
          break;
        }
        if (*n == 0) break;
        got += *n;
      }
    }
  }
  if (!error.ok()) {
    if (error.code() == StatusCode::kPreconditionFailed) inodes_.MarkStale(ino);
    return ReplyStatus(req, error, "read");
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), got);
}

void FuseFs::Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                   fuse_file_info* fi) {
  auto* h = reinterpret_cast<FileHandle*>(fi->fh);
  bool spooled = false;
  Status st;
  {
    std::lock_guard lock(h->mu);  // released before the reply (see Read)
    spooled = h->spool != nullptr;
    if (spooled) {
      st = h->spool->Write(static_cast<uint64_t>(off),
                           std::span(reinterpret_cast<const std::byte*>(buf), size));
    }
  }
  if (!spooled) return (void)fuse_reply_err(req, EBADF);
  if (!st.ok()) return ReplyStatus(req, st, "write");
  inodes_.ExtendSize(ino, static_cast<uint64_t>(off) + size);
  fuse_reply_write(req, size);
}

Status FuseFs::Upload(FileHandle& h) {
  if (!h.spool || !h.spool->dirty()) return Status::Ok();
  ObjectStat written;
  RETURN_IF_ERROR(h.spool->WithContents([&](std::span<const std::byte> data) -> Status {
    ASSIGN_OR_RETURN(written, client_.Write(options_.origin, h.key, data));
    return Status::Ok();
  }));
  h.spool->set_dirty(false);
  NodeAttr a;
  a.size = h.spool->size();
  a.version = written.version;
  a.mtime_ms = written.mtime_ms != 0 ? written.mtime_ms : NowMs();
  a.fetched = Clock::now();
  inodes_.SetAttr(h.ino, a);
  // The pages the kernel cached while we were written are this new version.
  (void)inodes_.SwapCachedVersion(h.ino, a.version);
  DirEntry d;
  d.name = NameBelow(ParentKey(h.key), h.key);
  d.size = a.size;
  d.mtime_ms = a.mtime_ms;
  d.version = a.version;
  dirs_.AddLocal(ParentKey(h.key), d);
  spdlog::debug("fuse: uploaded {} ({} bytes)", h.key, a.size);
  return Status::Ok();
}

void FuseFs::Flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto* h = reinterpret_cast<FileHandle*>(fi->fh);
  Status st;
  {
    std::lock_guard lock(h->mu);  // released before the reply (see Read)
    st = Upload(*h);
  }
  if (!st.ok()) return ReplyStatus(req, st, "flush (upload)");
  fuse_reply_err(req, 0);
}

void FuseFs::Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  std::unique_ptr<FileHandle> h(reinterpret_cast<FileHandle*>(fi->fh));
  if (h->spool) {
    std::lock_guard lock(h->mu);
    // close() already uploaded in flush; this catches writes after the last flush (mmap).
    if (Status st = Upload(*h); !st.ok()) {
      spdlog::error("fuse: upload of {} at release failed: {}", h->key, st.ToString());
    }
    RemoveWriter(h->key);
  }
  fuse_reply_err(req, 0);
}

void FuseFs::Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
  if (!options_.write_through) return (void)fuse_reply_err(req, EROFS);
  std::optional<Node> dir = inodes_.Get(parent);
  if (!dir) return (void)fuse_reply_err(req, ENOENT);
  std::string n(name);
  if (Status st = ValidateName(n); !st.ok()) {
    return (void)fuse_reply_err(req, n.size() > 255 ? ENAMETOOLONG : EINVAL);
  }
  Result<std::optional<DirEntry>> found = dirs_.Find(dir->key, n);
  if (!found.ok()) return ReplyStatus(req, found.status(), "mkdir");
  if (found->has_value()) return (void)fuse_reply_err(req, EEXIST);
  // Object stores have no directories: this one lives in this mount until a file is written
  // below it.
  DirEntry d;
  d.name = n;
  d.is_dir = true;
  dirs_.AddLocal(dir->key, d);
  NodeAttr attr = AttrFrom(d);
  uint64_t ino = inodes_.Lookup(ChildKey(dir->key, n, true), attr);
  fuse_entry_param e = ToEntry(ino, attr);
  if (fuse_reply_entry(req, &e) != 0) inodes_.Forget(ino, 1);
}

void FuseFs::OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::optional<Node> node = inodes_.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ENOENT);
  if (!node->attr.is_dir) return (void)fuse_reply_err(req, ENOTDIR);
  Result<std::shared_ptr<const DirListing>> listing = dirs_.Get(node->key);
  if (!listing.ok()) return ReplyStatus(req, listing.status(), "opendir");
  auto h = std::make_unique<DirHandle>();
  h->ino = ino;
  h->key = node->key;
  h->listing = std::move(*listing);
  fi->fh = reinterpret_cast<uint64_t>(h.get());
  if (options_.immutable) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  }
  if (fuse_reply_open(req, fi) == 0) h.release();
}

void FuseFs::ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                     bool plus) {
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);
  const std::vector<DirEntry>& entries = h->listing->entries;
  std::vector<char> buf(size);
  size_t pos = 0;
  for (size_t i = static_cast<size_t>(off); i < entries.size() + 2; ++i) {
    const char* name;
    NodeAttr attr;
    std::string key;
    if (i < 2) {
      name = i == 0 ? "." : "..";
      attr.is_dir = true;
    } else {
      const DirEntry& d = entries[i - 2];
      name = d.name.c_str();
      attr = AttrFrom(d);
      key = ChildKey(h->key, d.name, d.is_dir);
    }
    off_t next = static_cast<off_t>(i + 1);
    size_t used;
    if (!plus) {
      // d_ino only: the kernel takes inodes from lookups. Never 0 (some readers skip those).
      uint64_t d_ino = i < 2 ? ino : inodes_.Find(key);
      if (d_ino == 0) d_ino = std::hash<std::string>()(key) | (1ull << 63);
      struct stat st = ToStat(d_ino, attr);
      used = fuse_add_direntry(req, buf.data() + pos, size - pos, name, &st, next);
    } else {
      size_t need = fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0);
      if (need > size - pos) break;
      fuse_entry_param e;
      if (i < 2) {
        e = ToEntry(ino, attr);  // the kernel does not count lookups for "." and ".."
      } else {
        bool written = !attr.is_dir && IsWritten(key);
        uint64_t child = inodes_.Lookup(key, attr, written);
        if (written) attr = inodes_.Get(child)->attr;
        e = ToEntry(child, attr);
      }
      used = fuse_add_direntry_plus(req, buf.data() + pos, size - pos, name, &e, next);
    }
    if (used > size - pos) break;
    pos += used;
  }
  fuse_reply_buf(req, buf.data(), pos);
}

void FuseFs::ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void FuseFs::StatFs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st;
  std::memset(&st, 0, sizeof(st));
  st.f_bsize = options_.max_read;
  st.f_frsize = 4096;
  st.f_namemax = 255;
  if (options_.write_through) {  // unbounded as far as we know: report plenty of room
    st.f_blocks = st.f_bfree = st.f_bavail = 1ull << 40;
    st.f_files = st.f_ffree = st.f_favail = 1ull << 32;
  }
  st.f_files = std::max<fsfilcnt_t>(st.f_files, inodes_.size());
  fuse_reply_statfs(req, &st);
}

void FuseFs::Unsupported(fuse_req_t req) {
  fuse_reply_err(req, options_.write_through ? ENOTSUP : EROFS);
}

const fuse_lowlevel_ops& FuseFs::Operations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o;
    std::memset(&o, 0, sizeof(o));
    o.init = [](void* userdata, fuse_conn_info* conn) {
      static_cast<FuseFs*>(userdata)->Init(conn);
    };
    o.lookup = [](fuse_req_t r, fuse_ino_t p, const char* n) { Fs(r).Lookup(r, p, n); };
    o.forget = [](fuse_req_t r, fuse_ino_t i, uint64_t n) {
      Fs(r).Forget(i, n);
      fuse_reply_none(r);
    };
    o.forget_multi = [](fuse_req_t r, size_t count, fuse_forget_data* f) {
      for (size_t k = 0; k < count; ++k) Fs(r).Forget(f[k].ino, f[k].nlookup);
      fuse_reply_none(r);
    };
    o.getattr = [](fuse_req_t r, fuse_ino_t i, fuse_file_info*) { Fs(r).GetAttr(r, i); };
    o.setattr = [](fuse_req_t r, fuse_ino_t i, struct stat* a, int s, fuse_file_info* fi) {
      Fs(r).SetAttr(r, i, a, s, fi);
    };
    o.open = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Fs(r).Open(r, i, fi); };
    o.create = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m, fuse_file_info* fi) {
      Fs(r).Create(r, p, n, m, fi);
    };
    o.read = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t off, fuse_file_info* fi) {
      Fs(r).Read(r, i, s, off, fi);
    };
    o.write = [](fuse_req_t r, fuse_ino_t i, const char* b, size_t s, off_t off,
                 fuse_file_info* fi) { Fs(r).Write(r, i, b, s, off, fi); };
    o.flush = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Fs(r).Flush(r, i, fi); };
    o.fsync = [](fuse_req_t r, fuse_ino_t i, int, fuse_file_info* fi) { Fs(r).Flush(r, i, fi); };
    o.release = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Fs(r).Release(r, i, fi); };
    o.mkdir = [](fuse_req_t r, fuse_ino_t p, const char* n, mode_t m) { Fs(r).Mkdir(r, p, n, m); };
    o.opendir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) { Fs(r).OpenDir(r, i, fi); };
    o.readdir = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t off, fuse_file_info* fi) {
      Fs(r).ReadDir(r, i, s, off, fi, false);
    };
    o.readdirplus = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t off, fuse_file_info* fi) {
      Fs(r).ReadDir(r, i, s, off, fi, true);
    };
    o.releasedir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info* fi) {
      Fs(r).ReleaseDir(r, i, fi);
    };
    o.statfs = [](fuse_req_t r, fuse_ino_t i) { Fs(r).StatFs(r, i); };
    o.unlink = [](fuse_req_t r, fuse_ino_t, const char*) { Fs(r).Unsupported(r); };
    o.rmdir = [](fuse_req_t r, fuse_ino_t, const char*) { Fs(r).Unsupported(r); };
    o.rename = [](fuse_req_t r, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
      Fs(r).Unsupported(r);
    };
    o.link = [](fuse_req_t r, fuse_ino_t, fuse_ino_t, const char*) { Fs(r).Unsupported(r); };
    o.symlink = [](fuse_req_t r, const char*, fuse_ino_t, const char*) { Fs(r).Unsupported(r); };
    o.mknod = [](fuse_req_t r, fuse_ino_t, const char*, mode_t, dev_t) { Fs(r).Unsupported(r); };
    return o;
  }();
  return ops;
}

}  // namespace unicache::fuse

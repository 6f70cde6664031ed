// FuseFs: the operations of the `unicache mount` file system, written against libfuse3's
// low-level API.
//
// Why low-level rather than the high-level (path-based) API: the high-level API re-resolves a
// full path string for every call and keeps its own path->inode tree behind a global lock, and
// it hides the lookup counts. Here every kernel inode maps straight to an object key
// (InodeTable), lookups are answered from cached directory listings, readdirplus hands the
// kernel attributes with the names (one listing serves `ls -l` and `find`), and entry/attr
// timeouts and keep_cache are set per reply, which is what lets the kernel page cache serve
// hot reads of immutable objects without calling us.
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312  // libfuse 3.12+ API (Debian 12 ships 3.14)
#endif
#include <fuse3/fuse_lowlevel.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fuse/dir_cache.h"
#include "fuse/inode_table.h"
#include "unicache/client.h"

namespace unicache::fuse {

struct FsOptions {
  std::string origin;
  std::string root_key;  // "" or "prefix/" (see path_map.h)
  // Files may be created and written; they are uploaded with Client::Write on flush/close.
  // Otherwise the file system is read-only and every write gets EROFS.
  bool write_through = false;
  // Objects never change: attributes, listings and the kernel page cache are kept forever.
  bool immutable = false;
  // How long listings and attributes are trusted (also the kernel's entry/attr timeouts).
  std::chrono::milliseconds metadata_ttl{10000};
  // How long past metadata_ttl a directory listing is still used while listing fails for an
  // outage (the node's origin unreachable).
  std::chrono::milliseconds stale_if_error{std::chrono::hours(1)};
  std::string spool_dir = "/tmp";  // where files being written are staged
  size_t max_read = 1 << 20;       // largest read/write request, also st_blksize
};

// Thread-safe: libfuse calls the operations from many threads at once. Open files are
// FileHandle objects (each with its own mutex around its ObjectReader or WriteSpool); the
// shared state is the InodeTable and the DirCache, both internally locked.
class FuseFs {
 public:
  // `client` is borrowed and must outlive the FuseFs and every request it serves.
  FuseFs(Client& client, FsOptions options);
  ~FuseFs();
  FuseFs(const FuseFs&) = delete;
  FuseFs& operator=(const FuseFs&) = delete;

  // Returns the operation table for fuse_session_new(); its userdata must be this FuseFs.
  static const fuse_lowlevel_ops& Operations();

  const FsOptions& options() const { return options_; }
  InodeTable& inodes() { return inodes_; }
  DirCache& dirs() { return dirs_; }

  // The operations (see fuse_lowlevel.h). Each replies to `req` exactly once.
  void Init(fuse_conn_info* conn);
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Forget(fuse_ino_t ino, uint64_t nlookup);
  void GetAttr(fuse_req_t req, fuse_ino_t ino);
  void SetAttr(fuse_req_t req, fuse_ino_t ino, const struct stat* attr, int to_set,
               fuse_file_info* fi);
  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
  void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
  void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi);
  void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
               bool plus);
  void ReleaseDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void StatFs(fuse_req_t req, fuse_ino_t ino);
  // unlink, rmdir, rename, link, symlink, mknod: EROFS read-only, ENOTSUP with write-through.
  void Unsupported(fuse_req_t req);

 private:
  struct FileHandle;
  struct DirHandle;

  double TtlSeconds() const;
  struct stat ToStat(uint64_t ino, const NodeAttr& attr) const;
  fuse_entry_param ToEntry(uint64_t ino, const NodeAttr& attr) const;
  NodeAttr AttrFrom(const DirEntry& e) const;
  // Returns the node's attributes, re-reading them with Client::Stat when older than the TTL.
  Result<NodeAttr> FreshAttr(const Node& node);
  // Uploads a dirty spool (write-through) and records the new version.
  Status Upload(FileHandle& h);
  // Copies the current object into `h`'s spool (open for writing without O_TRUNC).
  Status LoadIntoSpool(FileHandle& h, const NodeAttr& attr);

  Client& client_;
  const FsOptions options_;
  const int64_t mount_time_ms_;
  InodeTable inodes_;
  DirCache dirs_;

  // Counts open write handles per key; returns true while `key` has one.
  void AddWriter(const std::string& key);
  void RemoveWriter(const std::string& key);
  bool IsWritten(const std::string& key);

  std::mutex writers_mu_;
  std::map<std::string, int> writers_;  // guarded by writers_mu_
};

}  // namespace unicache::fuse

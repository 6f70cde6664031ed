#include "fuse/write_spool.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace unicache::fuse {

Result<std::unique_ptr<WriteSpool>> WriteSpool::Create(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string templ = dir + "/unicache-spool-XXXXXX";
    fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(templ.c_str());
  }
  if (fd < 0) return ErrnoStatus("create a spool file in " + dir, errno);
  return std::unique_ptr<WriteSpool>(new WriteSpool(fd));
}

WriteSpool::~WriteSpool() { ::close(fd_); }

Status WriteSpool::Write(uint64_t offset, std::span<const std::byte> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write the spool file", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (offset + data.size() > size_) size_ = offset + data.size();
  dirty_ = true;
  return Status::Ok();
}

Result<size_t> WriteSpool::Read(uint64_t offset, std::span<std::byte> dst) {
  size_t done = 0;
  while (done < dst.size() && offset + done < size_) {
    ssize_t n =
        ::pread(fd_, dst.data() + done, dst.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read the spool file", errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status WriteSpool::Truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    return ErrnoStatus("truncate the spool file", errno);
  }
  size_ = size;
  dirty_ = true;
  return Status::Ok();
}

Status WriteSpool::WithContents(const std::function<Status(std::span<const std::byte>)>& fn) {
  if (size_ == 0) return fn({});
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) return ErrnoStatus("map the spool file", errno);
  Status st = fn(std::span(static_cast<const std::byte*>(p), size_));
  ::munmap(p, size_);
  return st;
}

}  // namespace unicache::fuse

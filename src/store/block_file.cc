#include "store/block_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace unicache {
namespace {

void PutLe(std::byte* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

uint64_t GetLe(const std::byte* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Takes ownership of `fd`, closing the one held before.
  void Reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes now and returns the error of close(), if any.
  Status Close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0 ? Status::Ok() : ErrnoStatus("close", errno);
  }

 private:
  int fd_;
};

Status WriteAll(int fd, const std::byte* data, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write block file", errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

// Reads exactly `n` bytes at `offset`; ChecksumMismatch when the file ends first.
Status ReadAll(int fd, std::byte* data, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t r = ::pread(fd, data, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read block file", errno);
    }
    if (r == 0) return ChecksumMismatch("block file is truncated");
    data += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

// Opens `path` for reading and checks its header and its length against the header.
Result<BlockHeader> OpenAndProbe(const std::string& path, Fd* fd) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) return ErrnoStatus("open " + path, errno);
  fd->Reset(raw);
  std::array<std::byte, kBlockHeaderSize> buf;
  RETURN_IF_ERROR(ReadAll(raw, buf.data(), buf.size(), 0));
  ASSIGN_OR_RETURN(BlockHeader header, DecodeBlockHeader(buf.data()));
  struct stat st;
  if (::fstat(raw, &st) != 0) return ErrnoStatus("stat " + path, errno);
  if (static_cast<uint64_t>(st.st_size) != kBlockHeaderSize + header.data_length) {
    return ChecksumMismatch("block file length does not match its header");
  }
  return header;
}

}  // namespace

std::array<std::byte, kBlockHeaderSize> EncodeBlockHeader(const BlockHeader& header) {
  std::array<std::byte, kBlockHeaderSize> b{};
  PutLe(&b[0], kBlockFileMagic, 4);
  PutLe(&b[4], kBlockFileVersion, 2);
  PutLe(&b[6], kBlockHeaderSize, 2);
  PutLe(&b[8], header.key.hi, 8);
  PutLe(&b[16], header.key.lo, 8);
  PutLe(&b[24], header.data_length, 8);
  PutLe(&b[32], header.data_checksum, 8);
  PutLe(&b[56], Checksum64(std::span<const std::byte>(b.data(), 56)), 8);
  return b;
}

Result<BlockHeader> DecodeBlockHeader(const std::byte* b) {
  if (GetLe(b, 4) != kBlockFileMagic) return ChecksumMismatch("not a block file (bad magic)");
  if (GetLe(b + 56, 8) != Checksum64(std::span<const std::byte>(b, 56))) {
    return ChecksumMismatch("block file header checksum mismatch");
  }
  if (GetLe(b + 4, 2) != kBlockFileVersion || GetLe(b + 6, 2) != kBlockHeaderSize) {
    return InvalidArgument("unsupported block file version");
  }
  BlockHeader h;
  h.key.hi = GetLe(b + 8, 8);
  h.key.lo = GetLe(b + 16, 8);
  h.data_length = GetLe(b + 24, 8);
  h.data_checksum = GetLe(b + 32, 8);
  return h;
}

std::string BlockFilePath(const std::string& root, const Key128& key) {
  std::string hex = key.Hex();
  std::string path = root;
  path += '/';
  path.append(hex, 0, 2);
  path += '/';
  path += hex;
  path += kBlockFileSuffix;
  return path;
}

Status WriteBlockFile(const std::string& root, const Key128& key, const Block& block, bool sync) {
  std::string path = BlockFilePath(root, key);
  std::string tmp = path + std::string(kTempFileSuffix);
  int raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (raw < 0 && errno == ENOENT) {
    std::string fanout = path.substr(0, path.rfind('/'));
    if (::mkdir(fanout.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir " + fanout, errno);
    }
    raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (raw < 0) return ErrnoStatus("create " + tmp, errno);
  Fd fd(raw);
  auto header = EncodeBlockHeader({key, block.size(), Checksum64(block.bytes())});
  Status st = WriteAll(raw, header.data(), header.size(), 0);
  if (st.ok()) st = WriteAll(raw, block.data(), block.size(), kBlockHeaderSize);
  if (st.ok() && sync && ::fdatasync(raw) != 0) st = ErrnoStatus("fdatasync " + tmp, errno);
  Status closed = fd.Close();
  if (st.ok()) st = closed;
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoStatus("rename " + tmp, errno);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

Result<BlockRef> ReadBlockFile(const std::string& root, const Key128& key,
                               uint64_t expected_length) {
  std::string path = BlockFilePath(root, key);
  Fd fd(-1);
  ASSIGN_OR_RETURN(BlockHeader header, OpenAndProbe(path, &fd));
  if (header.key != key || header.data_length != expected_length) {
    return ChecksumMismatch("block file " + path + " holds another block");
  }
  std::shared_ptr<Block> block = Block::Allocate(header.data_length);
  RETURN_IF_ERROR(
      ReadAll(fd.get(), block->mutable_bytes().data(), block->size(), kBlockHeaderSize));
  if (Checksum64(block->bytes()) != header.data_checksum) {
    return ChecksumMismatch("block file " + path + " data checksum mismatch");
  }
  return BlockRef(std::move(block));
}

Result<BlockHeader> ProbeBlockFile(const std::string& path) {
  Fd fd(-1);
  return OpenAndProbe(path, &fd);
}

}  // namespace unicache

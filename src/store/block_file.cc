#include "store/block_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

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

constexpr size_t kDirectAlignment = 4096;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Returns this thread's buffer of at least `n` bytes (a multiple of kDirectAlignment), aligned
// for O_DIRECT, or null when out of memory. Reused across calls: the writer thread's copy of a
// block costs a memcpy into warm memory, not fresh pages.
std::byte* DirectScratch(size_t n) {
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<std::byte, Free> buffer;
  thread_local size_t capacity = 0;
  if (capacity < n) {
    buffer.reset(static_cast<std::byte*>(std::aligned_alloc(kDirectAlignment, n)));
    capacity = buffer ? n : 0;
  }
  return buffer.get();
}

// Creates `tmp` for writing, with O_DIRECT when `direct` (*direct is cleared when the file
// system refuses it), creating its fan-out directory when missing. Returns the descriptor or -1.
int CreateTemp(const std::string& tmp, const std::string& fanout, bool* direct) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (*direct ? O_DIRECT : 0);
    int fd = ::open(tmp.c_str(), flags, 0644);
    if (fd >= 0) return fd;
    if (errno == EINVAL && *direct) {
      *direct = false;
    } else if (errno == ENOENT && (::mkdir(fanout.c_str(), 0755) == 0 || errno == EEXIST)) {
      continue;
    } else {
      return -1;
    }
  }
  return -1;
}

// Writes the whole file (header, padding, data) with O_DIRECT. A block whose buffer and size
// suit O_DIRECT (every full block of 2 MiB or more: huge-page aligned) is written from its own
// memory after the header page; any other goes through an aligned copy, and the padding after
// its data is trimmed. REQUIRES: `fd` was opened with O_DIRECT.
Status WriteDirect(int fd, const std::array<std::byte, kBlockHeaderSize>& header,
                   const Block& block) {
  static_assert(kBlockDataOffset % kDirectAlignment == 0);
  if (reinterpret_cast<uintptr_t>(block.data()) % kDirectAlignment == 0 &&
      block.size() % kDirectAlignment == 0) {
    std::byte* head = DirectScratch(kBlockDataOffset);
    if (head == nullptr) return ResourceExhausted("no memory for a block file write");
    std::memcpy(head, header.data(), header.size());
    std::memset(head + header.size(), 0, kBlockDataOffset - header.size());
    RETURN_IF_ERROR(WriteAll(fd, head, kBlockDataOffset, 0));
    return WriteAll(fd, block.data(), block.size(), kBlockDataOffset);
  }
  const size_t length = kBlockDataOffset + block.size();
  const size_t padded = RoundUp(length, kDirectAlignment);
  std::byte* buf = DirectScratch(padded);
  if (buf == nullptr) return ResourceExhausted("no memory for a block file write");
  std::memcpy(buf, header.data(), header.size());
  std::memset(buf + header.size(), 0, kBlockDataOffset - header.size());
  std::memcpy(buf + kBlockDataOffset, block.data(), block.size());
  std::memset(buf + length, 0, padded - length);
  RETURN_IF_ERROR(WriteAll(fd, buf, padded, 0));
  if (padded != length && ::ftruncate(fd, static_cast<off_t>(length)) != 0) {
    return ErrnoStatus("truncate block file", errno);
  }
  return Status::Ok();
}

// Writes header, padding and data with ordinary writes.
Status WriteBuffered(int fd, const std::array<std::byte, kBlockHeaderSize>& header,
                     const Block& block) {
  std::array<std::byte, kBlockDataOffset> head{};
  std::memcpy(head.data(), header.data(), header.size());
  RETURN_IF_ERROR(WriteAll(fd, head.data(), head.size(), 0));
  return WriteAll(fd, block.data(), block.size(), kBlockDataOffset);
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
  if (static_cast<uint64_t>(st.st_size) != kBlockDataOffset + header.data_length) {
    return ChecksumMismatch("block file length does not match its header");
  }
  return header;
}

}  // namespace

std::array<std::byte, kBlockHeaderSize> EncodeBlockHeader(const BlockHeader& header) {
  std::array<std::byte, kBlockHeaderSize> b{};
  PutLe(&b[0], kBlockFileMagic, 4);
  PutLe(&b[4], kBlockFileVersion, 2);
  PutLe(&b[6], kBlockDataOffset, 2);
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
  if (GetLe(b + 4, 2) != kBlockFileVersion || GetLe(b + 6, 2) != kBlockDataOffset) {
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
  bool direct = true;
  int raw = CreateTemp(tmp, path.substr(0, path.rfind('/')), &direct);
  if (raw < 0) return ErrnoStatus("create " + tmp, errno);
  Fd fd(raw);
  auto header = EncodeBlockHeader({key, block.size(), Checksum64(block.bytes())});
  Status st = direct ? WriteDirect(raw, header, block) : WriteBuffered(raw, header, block);
  if (direct && st.code() == StatusCode::kInvalidArgument) {
    // Some file systems accept O_DIRECT at open() but not these writes: write buffered.
    if (::fcntl(raw, F_SETFL, ::fcntl(raw, F_GETFL) & ~O_DIRECT) == 0) {
      st = WriteBuffered(raw, header, block);
    }
  }
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
  ASSIGN_OR_RETURN(std::shared_ptr<Block> block, Block::Allocate(header.data_length));
  RETURN_IF_ERROR(
      ReadAll(fd.get(), block->mutable_bytes().data(), block->size(), kBlockDataOffset));
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

#include "store/ssd_tier.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "store/block_file.h"

namespace unicache {
namespace fs = std::filesystem;
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A block file found at Open(), before it is indexed.
struct Found {
  fs::file_time_type mtime;
  Key128 key;
  uint64_t data_length;
};

}  // namespace

SsdTier::SsdTier(const SsdTierOptions& options)
    : options_(options), root_(options.dir + "/blocks"), policy_(options.capacity) {}

SsdTier::~SsdTier() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<SsdTier>> SsdTier::Open(const SsdTierOptions& options) {
  if (options.dir.empty()) return InvalidArgument("store directory is empty");
  std::unique_ptr<SsdTier> tier(new SsdTier(options));
  std::error_code ec;
  fs::create_directories(tier->root_, ec);
  if (ec) return Internal("create " + tier->root_ + ": " + ec.message());
  std::string lock_path = options.dir + "/LOCK";
  tier->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (tier->lock_fd_ < 0) return ErrnoStatus("open " + lock_path, errno);
  if (::flock(tier->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Unavailable(options.dir + " is in use by another block store");
  }
  RETURN_IF_ERROR(tier->Recover());
  return tier;
}

Status SsdTier::Recover() {
  std::vector<Found> found;
  std::error_code ec;
  for (fs::directory_iterator d(root_, ec), end; !ec && d != end; d.increment(ec)) {
    if (!d->is_directory(ec) || d->path().filename().string().size() != 2) continue;
    for (fs::directory_iterator f(d->path(), ec); !ec && f != end; f.increment(ec)) {
      const fs::path& path = f->path();
      std::string name = path.filename().string();
      std::error_code ignored;
      if (EndsWith(name, kTempFileSuffix)) {  // a write cut short by a crash
        fs::remove(path, ignored);
        ++discarded_files_;
        continue;
      }
      if (!EndsWith(name, kBlockFileSuffix)) continue;  // not ours; leave it alone
      Result<Key128> key = Key128::FromHex(name.substr(0, name.size() - kBlockFileSuffix.size()));
      Result<BlockHeader> header = ProbeBlockFile(path.string());
      if (!key.ok() || !header.ok() || header->key != *key) {
        spdlog::warn("block store: deleting unusable block file {}: {}", path.string(),
                     header.ok() ? "name does not match its key" : header.status().ToString());
        fs::remove(path, ignored);
        ++discarded_files_;
        continue;
      }
      fs::file_time_type mtime = fs::last_write_time(path, ignored);
      found.push_back({mtime, *key, header->data_length});
    }
    if (ec) break;
  }
  if (ec) return Internal("scan " + root_ + ": " + ec.message());
  // Oldest first, so that when the files exceed the capacity the oldest are evicted.
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  for (const Found& f : found) {
    if (Index(f.key, f.data_length)) {
      ++recovered_blocks_;
    } else {
      std::error_code ignored;
      fs::remove(BlockFilePath(root_, f.key), ignored);
      ++discarded_files_;
    }
  }
  return Status::Ok();
}

bool SsdTier::Index(const Key128& key, uint64_t data_length) {
  std::vector<std::pair<Key128, uint64_t>> evicted;
  {
    std::lock_guard lock(mu_);
    if (!policy_.Insert(key, data_length + kBlockDataOffset, &evicted)) return false;
    gen_[key] = ++next_gen_;
    for (const auto& [k, w] : evicted) gen_.erase(k);
    UpdateGauge();
  }
  for (const auto& [k, w] : evicted) ::unlink(BlockFilePath(root_, k).c_str());
  if (!evicted.empty()) {
    evictions_.fetch_add(evicted.size(), std::memory_order_relaxed);
    if (options_.evictions != nullptr) options_.evictions->Inc(evicted.size());
  }
  return true;
}

Result<BlockRef> SsdTier::Read(const Key128& key) {
  uint64_t length, gen;
  {
    std::lock_guard lock(mu_);
    auto it = gen_.find(key);
    if (it == gen_.end()) return NotFound("block not in the SSD tier");
    gen = it->second;
    length = policy_.Weight(key) - kBlockDataOffset;
    policy_.Access(key);
  }
  Result<BlockRef> block = ReadBlockFile(root_, key, length);
  if (block.ok()) return block;
  if (block.status().code() == StatusCode::kNotFound) {  // evicted or erased meanwhile
    DropIfSame(key, gen);
    return block.status();
  }
  if (block.status().code() == StatusCode::kChecksumMismatch) {
    if (DropIfSame(key, gen)) {
      ::unlink(BlockFilePath(root_, key).c_str());
      checksum_failures_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("block store: deleted corrupt block {}: {}", key.Hex(),
                   block.status().message());
    }
    return NotFound("block was corrupt on SSD and has been dropped");
  }
  return block.status();
}

bool SsdTier::DropIfSame(const Key128& key, uint64_t gen) {
  std::lock_guard lock(mu_);
  auto it = gen_.find(key);
  if (it == gen_.end() || it->second != gen) return false;
  gen_.erase(it);
  policy_.Erase(key);
  UpdateGauge();
  return true;
}

Status SsdTier::Write(const Key128& key, const Block& block) {
  if (!Fits(block.size())) return ResourceExhausted("block is larger than the SSD tier");
  if (Contains(key)) return Status::Ok();
  RETURN_IF_ERROR(WriteBlockFile(root_, key, block, options_.sync_writes));
  if (!Index(key, block.size()) && !Contains(key)) {  // no room left by pinned bytes
    ::unlink(BlockFilePath(root_, key).c_str());
    return ResourceExhausted("no room in the SSD tier");
  }
  return Status::Ok();
}

void SsdTier::Erase(const Key128& key) {
  {
    std::lock_guard lock(mu_);
    if (gen_.erase(key) == 0) return;
    policy_.Erase(key);
    UpdateGauge();
  }
  ::unlink(BlockFilePath(root_, key).c_str());
}

bool SsdTier::Fits(uint64_t size) const { return size + kBlockDataOffset <= options_.capacity; }

bool SsdTier::Contains(const Key128& key) const {
  std::lock_guard lock(mu_);
  return gen_.contains(key);
}

uint64_t SsdTier::bytes() const {
  std::lock_guard lock(mu_);
  return policy_.bytes();
}

uint64_t SsdTier::blocks() const {
  std::lock_guard lock(mu_);
  return gen_.size();
}

void SsdTier::UpdateGauge() {
  if (options_.bytes_gauge != nullptr) {
    options_.bytes_gauge->Set(static_cast<int64_t>(policy_.bytes()));
  }
}

}  // namespace unicache

#include "fuse/inode_table.h"

namespace unicache::fuse {

InodeTable::InodeTable(std::string root_key) {
  Node root;
  root.ino = kRootIno;
  root.key = std::move(root_key);
  root.attr.is_dir = true;
  root.nlookup = 1;
  by_key_[root.key] = kRootIno;
  nodes_.emplace(kRootIno, std::move(root));
}

uint64_t InodeTable::Lookup(const std::string& key, const NodeAttr& attr, bool keep_attr) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    Node& n = nodes_.at(it->second);
    if (!keep_attr) n.attr = attr;
    if (n.ino != kRootIno) ++n.nlookup;
    return n.ino;
  }
  Node n;
  n.ino = next_ino_++;
  n.key = key;
  n.attr = attr;
  n.nlookup = 1;
  by_key_[key] = n.ino;
  uint64_t ino = n.ino;
  nodes_.emplace(ino, std::move(n));
  return ino;
}

std::optional<Node> InodeTable::Get(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

uint64_t InodeTable::Find(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  return it == by_key_.end() ? 0 : it->second;
}

void InodeTable::SetAttr(uint64_t ino, const NodeAttr& attr) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it != nodes_.end()) it->second.attr = attr;
}

void InodeTable::ExtendSize(uint64_t ino, uint64_t size) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it != nodes_.end() && it->second.attr.size < size) it->second.attr.size = size;
}

void InodeTable::SetSize(uint64_t ino, uint64_t size) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it != nodes_.end()) it->second.attr.size = size;
}

bool InodeTable::SwapCachedVersion(uint64_t ino, const std::string& version) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return false;
  bool same = !version.empty() && it->second.cached_version == version;
  it->second.cached_version = version;
  return same;
}

void InodeTable::MarkStale(uint64_t ino) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it != nodes_.end()) it->second.attr.fetched = Clock::time_point::min();
}

void InodeTable::Forget(uint64_t ino, uint64_t n) {
  if (ino == kRootIno) return;
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  if (it->second.nlookup > n) {
    it->second.nlookup -= n;
    return;
  }
  by_key_.erase(it->second.key);
  nodes_.erase(it);
}

size_t InodeTable::size() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

}  // namespace unicache::fuse

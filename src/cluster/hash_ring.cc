#include "cluster/hash_ring.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string>
#include <utility>

namespace unicache {
namespace {

// Returns the 16 bytes of `key` in a fixed (little-endian) order, so hashes do not depend on
// the host's byte order.
std::array<char, 16> KeyBytes(const Key128& key) {
  std::array<char, 16> b;
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<char>(key.hi >> (8 * i));
    b[8 + i] = static_cast<char>(key.lo >> (8 * i));
  }
  return b;
}

// A candidate owner: its sort value (higher wins) and its index. Ties, which need a 64-bit hash
// collision, go to the lower index so the order stays deterministic.
struct Candidate {
  double score;
  size_t index;
  bool operator>(const Candidate& o) const {
    return score > o.score || (score == o.score && index < o.index);
  }
};

}  // namespace

Result<std::shared_ptr<const HashRing>> HashRing::Create(std::vector<Member> members,
                                                         uint64_t version) {
  std::set<std::string_view> ids;
  for (const Member& m : members) {
    RETURN_IF_ERROR(ValidateMember(m));
    if (!ids.insert(m.id).second) return InvalidArgument("duplicate member id " + m.id);
  }
  return std::shared_ptr<const HashRing>(new HashRing(std::move(members), version));
}

Result<std::shared_ptr<const HashRing>> HashRing::FromView(const MemberView& view) {
  return Create(view.members, view.version);
}

HashRing::HashRing(std::vector<Member> members, uint64_t version)
    : members_(std::move(members)), version_(version) {
  std::sort(members_.begin(), members_.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  seeds_.reserve(members_.size());
  for (const Member& m : members_) {
    seeds_.push_back(Hash64(m.id));
    if (m.weight != members_.front().weight) uniform_weights_ = false;
  }
}

uint64_t HashRing::MemberHash(size_t i, std::string_view key_bytes) const {
  return Hash64(key_bytes, seeds_[i]);
}

double HashRing::Score(size_t i, uint64_t h) const {
  if (uniform_weights_) {
    // -w/ln(u) grows with u, so with one weight for all the raw hash ranks the same way. The
    // top 53 bits keep the value exact in a double.
    return static_cast<double>(h >> 11);
  }
  // u in (0,1): the top 53 bits plus one half, scaled; never 0 or 1, so ln(u) < 0.
  double u = (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
  return -members_[i].weight / std::log(u);
}

std::vector<const Member*> HashRing::Owners(const Key128& key, size_t n) const {
  n = std::min(n, members_.size());
  std::vector<const Member*> out;
  if (n == 0) return out;
  std::array<char, 16> bytes = KeyBytes(key);
  std::string_view kb(bytes.data(), bytes.size());
  std::vector<Candidate> top;  // best first
  if (n * 4 >= members_.size()) {
    top.reserve(members_.size());
    for (size_t i = 0; i < members_.size(); ++i) top.push_back({Score(i, MemberHash(i, kb)), i});
    std::partial_sort(top.begin(), top.begin() + static_cast<ptrdiff_t>(n), top.end(),
                      std::greater<>());
    top.resize(n);
  } else {
    // Few owners out of many members: keep a small sorted buffer instead of sorting all.
    top.reserve(n + 1);
    for (size_t i = 0; i < members_.size(); ++i) {
      Candidate c{Score(i, MemberHash(i, kb)), i};
      if (top.size() == n && !(c > top.back())) continue;
      auto pos = std::upper_bound(top.begin(), top.end(), c, std::greater<>());
      top.insert(pos, c);
      if (top.size() > n) top.pop_back();
    }
  }
  out.reserve(n);
  for (const Candidate& c : top) out.push_back(&members_[c.index]);
  return out;
}

const Member* HashRing::Owner(const Key128& key) const {
  if (members_.empty()) return nullptr;
  std::array<char, 16> bytes = KeyBytes(key);
  std::string_view kb(bytes.data(), bytes.size());
  Candidate best{Score(0, MemberHash(0, kb)), 0};
  for (size_t i = 1; i < members_.size(); ++i) {
    Candidate c{Score(i, MemberHash(i, kb)), i};
    if (c > best) best = c;
  }
  return &members_[best.index];
}

const Member* HashRing::Find(std::string_view id) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), id,
                             [](const Member& m, std::string_view v) { return m.id < v; });
  return it != members_.end() && it->id == id ? &*it : nullptr;
}

}  // namespace unicache

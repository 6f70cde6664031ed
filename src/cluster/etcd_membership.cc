#include "cluster/etcd_membership.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include "cluster/slot_table.h"
#include "common/text.h"

namespace unicache {
namespace {

using std::chrono::milliseconds;

int64_t Seconds(milliseconds d) { return (d.count() + 999) / 1000; }

}  // namespace

Result<std::unique_ptr<EtcdMembership>> EtcdMembership::Create(EtcdMembershipOptions options) {
  if (options.endpoints.empty()) return InvalidArgument("etcd membership needs an endpoint");
  RETURN_IF_ERROR(ValidateMember(options.self).WithContext("etcd membership self"));
  if (options.ttl < std::chrono::seconds(1)) return InvalidArgument("etcd TTL must be >= 1s");
  if (options.grace.count() < 0) return InvalidArgument("member grace period must be >= 0");
  if (options.watch_timeout < std::chrono::seconds(1)) {
    return InvalidArgument("etcd watch timeout must be >= 1s");
  }
  while (options.prefix.size() > 1 && options.prefix.back() == '/') options.prefix.pop_back();
  ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> client,
                   EtcdClient::Create(options.endpoints, options.request_timeout));
  return std::unique_ptr<EtcdMembership>(new EtcdMembership(std::move(options), std::move(client)));
}

EtcdMembership::EtcdMembership(EtcdMembershipOptions options, std::unique_ptr<EtcdClient> client)
    : options_(std::move(options)),
      members_prefix_(options_.prefix + "/members/"),
      client_(std::move(client)),
      grace_(options_.grace) {}

EtcdMembership::~EtcdMembership() { Shutdown(/*revoke=*/false); }

std::string EtcdMembership::SelfKey() const { return members_prefix_ + options_.self.id; }

std::vector<uint32_t> EtcdMembership::SelfSlots() const {
  std::lock_guard lock(state_mu_);
  return slots_;
}

Result<std::vector<uint32_t>> EtcdMembership::ClaimSlots(int64_t slot_lease) {
  const std::string slots_prefix = options_.prefix + "/slots/";
  ASSIGN_OR_RETURN(EtcdClient::RangeResult range, client_->RangePrefix(slots_prefix));
  const size_t need = SlotsForWeight(options_.self.weight);
  std::set<uint32_t> taken;
  std::vector<std::pair<uint32_t, int64_t>> mine;  // (slot, mod_revision)
  for (const EtcdClient::KeyValue& kv : range.kvs) {
    std::optional<uint32_t> n = ParseDecimal<uint32_t>(kv.key.substr(slots_prefix.size()));
    if (!n || *n >= kMaxSlotNumber) continue;
    taken.insert(*n);
    if (kv.value == options_.self.id) mine.emplace_back(*n, kv.mod_revision);
  }
  std::vector<uint32_t> slots;
  // Take back this node's own slots (a restart within the grace period), under the new lease;
  // give back any beyond what its weight needs now.
  for (const auto& [n, revision] : mine) {
    const std::string key = slots_prefix + std::to_string(n);
    if (slots.size() < need) {
      ASSIGN_OR_RETURN(bool kept, client_->PutIf(key, options_.self.id, slot_lease, revision));
      if (kept) slots.push_back(n);
    } else {
      client_->DeleteIf(key, revision).status().IgnoreError();
    }
  }
  // Then the lowest free numbers: a tombstone's keys or new slots at the end move to this node
  // alone. Two nodes racing for a number: one creates it, the other moves on.
  for (uint32_t n = 0; slots.size() < need && n < kMaxSlotNumber; ++n) {
    if (taken.contains(n)) continue;
    ASSIGN_OR_RETURN(bool created, client_->PutIf(slots_prefix + std::to_string(n),
                                                  options_.self.id, slot_lease, 0));
    if (created) slots.push_back(n);
  }
  if (slots.size() < need) return ResourceExhausted("no free placement slot left in etcd");
  std::sort(slots.begin(), slots.end());
  return slots;
}

Status EtcdMembership::Register() {
  ASSIGN_OR_RETURN(int64_t lease, client_->GrantLease(Seconds(options_.ttl)));
  Result<int64_t> slot_lease = client_->GrantLease(Seconds(options_.ttl + options_.grace));
  Result<std::vector<uint32_t>> slots =
      slot_lease.ok() ? ClaimSlots(*slot_lease) : slot_lease.status();
  Member self = options_.self;
  Status st = slots.status();
  if (st.ok()) {
    self.slots = *slots;
    st = client_->Put(SelfKey(), MemberToJson(self), lease);
  }
  if (!st.ok()) {
    client_->RevokeLease(lease).IgnoreError();
    if (slot_lease.ok()) client_->RevokeLease(*slot_lease).IgnoreError();
    return st;
  }
  int64_t old_slot_lease = 0;
  {
    std::lock_guard lock(state_mu_);
    lease_ = lease;
    old_slot_lease = std::exchange(slot_lease_, *slot_lease);
    slots_ = std::move(self.slots);
  }
  // The slots moved to the new lease; the old one holds nothing now.
  if (old_slot_lease != 0) client_->RevokeLease(old_slot_lease).IgnoreError();
  return Status::Ok();
}

void EtcdMembership::PublishLocked(int64_t revision) {
  std::vector<Member> present;
  present.reserve(present_.size());
  for (const auto& [key, m] : present_) present.push_back(m);
  publisher_.Publish(grace_.Apply(std::move(present), Clock::now()),
                     static_cast<uint64_t>(revision));
}

Result<int64_t> EtcdMembership::ReadMembers() {
  ASSIGN_OR_RETURN(EtcdClient::RangeResult range, client_->RangePrefix(members_prefix_));
  std::map<std::string, Member> present;
  for (const EtcdClient::KeyValue& kv : range.kvs) {
    Result<Member> m = MemberFromJson(kv.value);
    if (!m.ok()) {
      SPDLOG_WARN("etcd membership skips {}: {}", kv.key, m.status().ToString());
      continue;
    }
    present.emplace(kv.key, std::move(m).value());
  }
  std::lock_guard lock(state_mu_);
  present_ = std::move(present);
  revision_ = range.revision;
  PublishLocked(revision_);
  return range.revision;
}

Status EtcdMembership::Start() {
  std::lock_guard lock(mu_);
  if (watch_thread_.joinable()) return Status::Ok();
  RETURN_IF_ERROR(Register());
  Result<int64_t> revision = ReadMembers();
  Result<std::unique_ptr<EtcdClient>> watch_client =
      EtcdClient::Create(options_.endpoints, options_.request_timeout);
  Status st = revision.ok() ? watch_client.status() : revision.status();
  if (!st.ok()) {
    std::lock_guard state(state_mu_);
    client_->RevokeLease(std::exchange(lease_, 0)).IgnoreError();
    return st;
  }
  watch_client_ = std::move(watch_client).value();
  stopping_ = false;
  watch_thread_ = std::thread([this, from = *revision + 1] { WatchLoop(from); });
  lease_thread_ = std::thread([this] { LeaseLoop(); });
  return Status::Ok();
}

bool EtcdMembership::Sleep(milliseconds d) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return stopping_; });
}

void EtcdMembership::WatchLoop(int64_t from_revision) {
  int64_t next = from_revision;
  int64_t created_at = 0;  // the store revision when the current stream began
  auto on_events = [&](int64_t revision, std::vector<EtcdClient::WatchEvent> events) -> Status {
    if (events.empty()) {
      created_at = revision;
      return Status::Ok();
    }
    std::lock_guard lock(state_mu_);
    for (EtcdClient::WatchEvent& e : events) {
      next = std::max(next, e.kv.mod_revision + 1);
      if (e.deleted) {
        present_.erase(e.kv.key);
        continue;
      }
      Result<Member> m = MemberFromJson(e.kv.value);
      if (!m.ok()) {
        SPDLOG_WARN("etcd membership skips {}: {}", e.kv.key, m.status().ToString());
        present_.erase(e.kv.key);
        continue;
      }
      present_[e.kv.key] = std::move(m).value();
    }
    revision_ = std::max(revision_, revision);
    PublishLocked(revision_);
    return Status::Ok();
  };
  while (true) {
    Status st = watch_client_->Watch(members_prefix_, next, options_.watch_timeout, on_events);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (st.ok()) {
      // The stream ran its whole time, so etcd sent every change up to the revision it began
      // at (it catches a new watcher up within milliseconds): an idle cluster moves on too,
      // and a later compaction does not make every member read the prefix again.
      next = std::max(next, created_at + 1);
      continue;
    }
    if (st.code() == StatusCode::kOutOfRange) {
      // etcd compacted revisions this node had not seen: read the members again.
      Result<int64_t> revision = ReadMembers();
      if (revision.ok()) {
        next = *revision + 1;
        continue;
      }
      st = revision.status();
    }
    SPDLOG_WARN("etcd membership keeps its last view: {}", st.ToString());
    if (Sleep(milliseconds(1000))) return;
  }
}

void EtcdMembership::LeaseLoop() {
  const milliseconds member_every = options_.ttl / 3;
  const milliseconds slot_every = (options_.ttl + options_.grace) / 3;
  Clock::time_point next_member = Clock::now() + member_every;
  Clock::time_point next_slot = Clock::now() + slot_every;
  while (true) {
    Clock::time_point wake = std::min(next_member, next_slot);
    {
      std::lock_guard lock(state_mu_);
      if (std::optional<Clock::time_point> expiry = grace_.NextExpiry()) {
        wake = std::min(wake, *expiry);
      }
    }
    const auto wait = std::chrono::duration_cast<milliseconds>(wake - Clock::now());
    if (Sleep(std::max(wait, milliseconds(1)))) return;
    const Clock::time_point now = Clock::now();
    if (now >= next_member || now >= next_slot) {
      int64_t lease = 0, slot_lease = 0;
      {
        std::lock_guard lock(state_mu_);
        lease = lease_;
        slot_lease = slot_lease_;
      }
      Status st = Status::Ok();
      if (now >= next_member) st = client_->KeepAlive(lease).status();
      if (st.ok() && now >= next_slot) st = client_->KeepAlive(slot_lease).status();
      if (st.code() == StatusCode::kNotFound) {
        SPDLOG_WARN("etcd lease expired; registering {} again", options_.self.id);
        st = Register();
      }
      if (st.ok()) {
        if (now >= next_member) next_member = now + member_every;
        if (now >= next_slot) next_slot = now + slot_every;
      } else {
        // Try again in a second rather than a third of a TTL later.
        SPDLOG_WARN("etcd keepalive failed: {}", st.ToString());
        if (now >= next_member) next_member = now + milliseconds(1000);
        if (now >= next_slot) next_slot = now + milliseconds(1000);
      }
    }
    std::lock_guard lock(state_mu_);
    if (std::optional<Clock::time_point> expiry = grace_.NextExpiry(); expiry && *expiry <= now) {
      PublishLocked(revision_);  // a departed member's grace period ended
    }
  }
}

void EtcdMembership::Shutdown(bool revoke) {
  std::thread watch, lease;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    watch = std::move(watch_thread_);
    lease = std::move(lease_thread_);
    if (watch_client_) watch_client_->Cancel();
  }
  cv_.notify_all();
  if (watch.joinable()) watch.join();
  if (lease.joinable()) lease.join();
  std::lock_guard lock(state_mu_);
  if (revoke && lease_ != 0) {
    // The slot lease is left to run out: a node restarting within the grace period takes
    // its slots back.
    Status st = client_->RevokeLease(lease_);
    if (!st.ok()) SPDLOG_WARN("etcd lease revoke failed: {}", st.ToString());
  }
  lease_ = 0;
}

void EtcdMembership::Stop() { Shutdown(/*revoke=*/true); }

}  // namespace unicache

#include "cluster/etcd_membership.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace unicache {
namespace {

using Clock = std::chrono::steady_clock;

int64_t TtlSeconds(std::chrono::milliseconds ttl) { return (ttl.count() + 999) / 1000; }

}  // namespace

Result<std::unique_ptr<EtcdMembership>> EtcdMembership::Create(EtcdMembershipOptions options) {
  if (options.endpoints.empty()) return InvalidArgument("etcd membership needs an endpoint");
  RETURN_IF_ERROR(ValidateMember(options.self).WithContext("etcd membership self"));
  if (options.ttl < std::chrono::seconds(1)) return InvalidArgument("etcd TTL must be >= 1s");
  if (options.poll_interval.count() <= 0) return InvalidArgument("etcd poll interval must be > 0");
  while (options.prefix.size() > 1 && options.prefix.back() == '/') options.prefix.pop_back();
  ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> client,
                   EtcdClient::Create(options.endpoints, options.request_timeout));
  return std::unique_ptr<EtcdMembership>(new EtcdMembership(std::move(options), std::move(client)));
}

EtcdMembership::~EtcdMembership() { Shutdown(/*revoke=*/false); }

std::string EtcdMembership::SelfKey() const {
  return options_.prefix + "/members/" + options_.self.id;
}

Status EtcdMembership::Register() {
  ASSIGN_OR_RETURN(int64_t lease, client_->GrantLease(TtlSeconds(options_.ttl)));
  Status put = client_->Put(SelfKey(), MemberToJson(options_.self), lease);
  if (!put.ok()) {
    client_->RevokeLease(lease).IgnoreError();
    return put;
  }
  lease_ = lease;
  return Status::Ok();
}

Status EtcdMembership::Refresh() {
  ASSIGN_OR_RETURN(EtcdClient::RangeResult range,
                   client_->RangePrefix(options_.prefix + "/members/"));
  if (range.revision == last_revision_) return Status::Ok();
  last_revision_ = range.revision;
  std::vector<Member> members;
  for (const EtcdClient::KeyValue& kv : range.kvs) {
    Result<Member> m = MemberFromJson(kv.value);
    if (!m.ok()) {
      SPDLOG_WARN("etcd membership skips {}: {}", kv.key, m.status().ToString());
      continue;
    }
    members.push_back(std::move(m).value());
  }
  publisher_.Publish(std::move(members), static_cast<uint64_t>(range.revision));
  return Status::Ok();
}

Status EtcdMembership::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return Status::Ok();
  RETURN_IF_ERROR(Register());
  last_revision_ = -1;
  Status st = Refresh();
  if (!st.ok()) {
    client_->RevokeLease(lease_).IgnoreError();
    lease_ = 0;
    return st;
  }
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void EtcdMembership::Loop() {
  auto keepalive_every = options_.ttl / 3;
  Clock::time_point next_keepalive = Clock::now() + keepalive_every;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::min(options_.poll_interval, keepalive_every),
                       [this] { return stopping_; })) {
    lock.unlock();
    if (Clock::now() >= next_keepalive) {
      Status st = client_->KeepAlive(lease_).status();
      if (st.code() == StatusCode::kNotFound) {
        SPDLOG_WARN("etcd lease {} expired; registering {} again", lease_, options_.self.id);
        st = Register();
      }
      // On failure try again at the next poll rather than a third of a TTL later.
      if (st.ok()) {
        next_keepalive = Clock::now() + keepalive_every;
      } else {
        SPDLOG_WARN("etcd keepalive failed: {}", st.ToString());
      }
    }
    Status st = Refresh();
    if (!st.ok()) SPDLOG_WARN("etcd membership keeps its last view: {}", st.ToString());
    lock.lock();
  }
}

void EtcdMembership::Shutdown(bool revoke) {
  std::thread t;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
  if (revoke && lease_ != 0) {
    Status st = client_->RevokeLease(lease_);
    if (!st.ok()) SPDLOG_WARN("etcd lease revoke failed: {}", st.ToString());
  }
  lease_ = 0;
}

void EtcdMembership::Stop() { Shutdown(/*revoke=*/true); }

}  // namespace unicache

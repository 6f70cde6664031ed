#include "cluster/peer_health.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace unicache {

PeerHealth::PeerHealth(PeerHealthOptions options)
    : options_([&] {
        if (!options.now) options.now = [] { return std::chrono::steady_clock::now(); };
        if (options.multiplier < 1.0) options.multiplier = 1.0;
        return options;
      }()) {}

bool PeerHealth::ShouldTryLocked(std::string_view id, std::chrono::steady_clock::time_point now) {
  auto it = down_.find(std::string(id));
  if (it == down_.end()) return true;
  State& s = it->second;
  if (now < s.down_until) return false;
  if (s.probing && now - s.probe_started < options_.probe_timeout) return false;
  s.probing = true;
  s.probe_started = now;
  return true;
}

bool PeerHealth::ShouldTry(std::string_view id) {
  auto now = options_.now();
  std::lock_guard lock(mu_);
  return ShouldTryLocked(id, now);
}

void PeerHealth::ReportSuccess(std::string_view id) {
  std::lock_guard lock(mu_);
  down_.erase(std::string(id));
}

void PeerHealth::ReportFailure(std::string_view id) {
  auto now = options_.now();
  std::lock_guard lock(mu_);
  State& s = down_[std::string(id)];
  double backoff_ms = static_cast<double>(options_.initial_backoff.count()) *
                      std::pow(options_.multiplier, std::min(s.failures, 30));
  backoff_ms = std::min(backoff_ms, static_cast<double>(options_.max_backoff.count()));
  ++s.failures;
  s.probing = false;
  s.down_until = now + std::chrono::milliseconds(static_cast<int64_t>(backoff_ms));
}

void PeerHealth::Report(std::string_view id, const Status& status) {
  if (status.retryable()) {
    ReportFailure(id);
  } else {
    ReportSuccess(id);
  }
}

bool PeerHealth::IsDown(std::string_view id) const {
  std::lock_guard lock(mu_);
  return down_.contains(std::string(id));
}

std::vector<const Member*> PeerHealth::Order(const std::vector<const Member*>& owners) {
  auto now = options_.now();
  std::vector<const Member*> healthy;
  std::vector<const Member*> skipped;
  std::lock_guard lock(mu_);
  for (const Member* m : owners) {
    (ShouldTryLocked(m->id, now) ? healthy : skipped).push_back(m);
  }
  healthy.insert(healthy.end(), skipped.begin(), skipped.end());
  return healthy;
}

void PeerHealth::Retain(const std::vector<std::string>& ids) {
  std::set<std::string_view> keep(ids.begin(), ids.end());
  std::lock_guard lock(mu_);
  std::erase_if(down_, [&](const auto& entry) { return !keep.contains(entry.first); });
}

}  // namespace unicache

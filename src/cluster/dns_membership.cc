#include "cluster/dns_membership.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>
#include <utility>

#include "common/text.h"

namespace unicache {

Result<DnsTarget> ParseDnsTarget(std::string_view spec, uint16_t default_port) {
  DnsTarget t;
  if (size_t at = spec.find('@'); at != std::string_view::npos) {
    std::string_view server = spec.substr(at + 1);
    spec = spec.substr(0, at);
    if (size_t colon = server.rfind(':'); colon != std::string_view::npos) {
      std::optional<uint16_t> port = ParseDecimal<uint16_t>(server.substr(colon + 1));
      if (!port || *port == 0) {
        return InvalidArgument("--discovery dns:...@" + std::string(server) +
                               ": the DNS server's port must be in 1-65535");
      }
      t.server_port = *port;
      server = server.substr(0, colon);
    }
    in_addr ignored{};
    if (inet_pton(AF_INET, std::string(server).c_str(), &ignored) != 1) {
      return InvalidArgument("--discovery dns:...@" + std::string(server) +
                             ": the DNS server must be an IPv4 address, e.g. @127.0.0.1:8600");
    }
    t.server = std::string(server);
  }
  size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos) {
    t.name = std::string(spec);
    t.port = default_port;
  } else {
    t.name = std::string(spec.substr(0, colon));
    std::optional<uint16_t> value = ParseDecimal<uint16_t>(spec.substr(colon + 1));
    if (!value || *value == 0) {
      return InvalidArgument("--discovery dns:" + std::string(spec) + " needs a port in 1-65535");
    }
    t.port = *value;
  }
  if (t.name.empty()) return InvalidArgument("--discovery dns: needs a name, dns:NAME[:PORT]");
  if (t.port == 0) {
    return InvalidArgument("--discovery dns:" + t.name +
                           " has no port and this node's port is unknown; use dns:NAME:PORT");
  }
  return t;
}

Result<std::vector<std::string>> ResolveHost(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) return Unavailable("resolving " + name + ": " + gai_strerror(rc));
  std::set<std::string> ips;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr = nullptr;
    if (ai->ai_family == AF_INET) {
      addr = &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr;
    } else if (ai->ai_family == AF_INET6) {
      addr = &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    if (inet_ntop(ai->ai_family, addr, buf, sizeof buf) != nullptr) ips.insert(buf);
  }
  freeaddrinfo(res);
  return std::vector<std::string>(ips.begin(), ips.end());
}

Result<std::vector<std::string>> ResolveAt(const std::string& name, const std::string& server,
                                           uint16_t port) {
  struct __res_state state {};
  if (res_ninit(&state) != 0) return Unavailable("resolving " + name + ": res_ninit failed");
  state.nscount = 1;
  state.nsaddr_list[0].sin_family = AF_INET;
  state.nsaddr_list[0].sin_port = htons(port);
  inet_pton(AF_INET, server.c_str(), &state.nsaddr_list[0].sin_addr);
  state.options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);  // the name as given
  std::set<std::string> ips;
  bool answered = false;
  for (int type : {ns_t_a, ns_t_aaaa}) {
    unsigned char answer[8192];
    const int len = res_nquery(&state, name.c_str(), ns_c_in, type, answer, sizeof answer);
    if (len < 0) {
      // No such name, or no record of this type: an answer all the same.
      if (state.res_h_errno == HOST_NOT_FOUND || state.res_h_errno == NO_DATA) answered = true;
      continue;
    }
    answered = true;
    ns_msg msg;
    if (ns_initparse(answer, len, &msg) != 0) continue;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
      ns_rr rr;
      if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != type) continue;
      const int family = type == ns_t_a ? AF_INET : AF_INET6;
      if (ns_rr_rdlen(rr) != (family == AF_INET ? 4 : 16)) continue;
      char buf[INET6_ADDRSTRLEN] = {};
      if (inet_ntop(family, ns_rr_rdata(rr), buf, sizeof buf) != nullptr) ips.insert(buf);
    }
  }
  res_nclose(&state);
  if (!answered) {
    return Unavailable("resolving " + name + ": no answer from the DNS server " + server + ":" +
                       std::to_string(port));
  }
  return std::vector<std::string>(ips.begin(), ips.end());
}

Result<std::unique_ptr<DnsMembership>> DnsMembership::Create(DnsMembershipOptions options) {
  if (options.target.name.empty() || options.target.port == 0) {
    return InvalidArgument("DNS membership needs a name and a port");
  }
  if (options.interval.count() <= 0) return InvalidArgument("DNS interval must be > 0");
  if (!options.resolver && !options.target.server.empty()) {
    options.resolver = [server = options.target.server, port = options.target.server_port](
                           const std::string& name) { return ResolveAt(name, server, port); };
  }
  if (!options.resolver) options.resolver = ResolveHost;
  return std::unique_ptr<DnsMembership>(new DnsMembership(std::move(options)));
}

DnsMembership::~DnsMembership() { Stop(); }

Status DnsMembership::Refresh() {
  Result<std::vector<std::string>> ips = options_.resolver(options_.target.name);
  if (!ips.ok()) return ips.status();
  if (ips->empty()) return Unavailable(options_.target.name + " has no addresses");
  std::vector<Member> members;
  for (const std::string& ip : *ips) {
    std::string address = FormatHostPort(ip, options_.target.port);
    members.push_back(Member{.id = address, .address = address});
  }
  publisher_.Publish(grace_.Apply(std::move(members), GracePeriod::Clock::now()));
  return Status::Ok();
}

Status DnsMembership::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return Status::Ok();
  RETURN_IF_ERROR(Refresh());
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void DnsMembership::Stop() {
  std::thread t;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void DnsMembership::Loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    Status st = Refresh();
    if (!st.ok()) SPDLOG_WARN("DNS membership keeps its last view: {}", st.ToString());
    lock.lock();
  }
}

}  // namespace unicache

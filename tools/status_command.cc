// unicache status: the members of the cluster and what each one's /metrics says.
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_util.h"
#include "cluster/member.h"
#include "commands.h"
#include "common/http_client.h"
#include "common/units.h"

namespace unicache::cli {
namespace {

struct StatusFlags {
  std::string peers;
};

// Sums the samples of `name` in a Prometheus exposition whose labels contain `label` ("" = all).
double Sum(const std::string& text, const std::string& name, const std::string& label = "") {
  double total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.starts_with(name)) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    size_t space = line.rfind(' ');
    if (!label.empty() && line.substr(0, space).find(label) == std::string::npos) continue;
    total += std::strtod(line.c_str() + space + 1, nullptr);
  }
  return total;
}

std::string Get(HttpClient& http, const std::string& url, int* status) {
  HttpRequest req;
  req.url = url;
  req.timeout = std::chrono::milliseconds(3000);
  req.connect_timeout = std::chrono::milliseconds(1000);
  Result<HttpResponse> resp = http.Send(req);
  *status = resp.ok() ? resp->status : 0;
  return resp.ok() ? resp->body : resp.status().message();
}

int RunStatus(const StatusFlags& f) {
  HttpClient http;
  std::string list = PeerList(f.peers);
  Result<MemberView> view = Unavailable("no node in --peers answered: " + list);
  for (size_t start = 0; start <= list.size();) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string node = list.substr(start, comma - start);
    start = comma + 1;
    if (node.empty()) continue;
    int status = 0;
    std::string body = Get(http, "http://" + node + "/v1/members", &status);
    if (status == 200) {
      view = MemberViewFromJson(body);
      if (view.ok()) break;
    }
  }
  if (!view.ok()) return Fail("status", view.status(), "start a node or pass --peers HOST:PORT");
  std::printf("%-22s %-22s %6s %-8s %-4s %21s %21s %7s %12s\n", "ID", "ADDRESS", "WEIGHT", "ZONE",
              "UP", "RAM USED/CAP", "SSD USED/CAP", "HIT%", "ORIGIN");
  size_t up = 0;
  for (const Member& m : view->members) {
    int status = 0;
    std::string metrics = Get(http, "http://" + m.address + "/metrics", &status);
    std::string zone = m.zone.empty() ? "-" : m.zone;
    if (status != 200) {
      std::printf("%-22s %-22s %6.2f %-8s %-4s %21s %21s %7s %12s\n", m.id.c_str(),
                  m.address.c_str(), m.weight, zone.c_str(), "down", "-", "-", "-", "-");
      continue;
    }
    ++up;
    auto used_cap = [&](const std::string& tier) {
      std::string l = "tier=\"" + tier + "\"";
      return FormatSize(static_cast<uint64_t>(Sum(metrics, "unicache_tier_bytes", l))) + "/" +
             FormatSize(static_cast<uint64_t>(Sum(metrics, "unicache_tier_capacity_bytes", l)));
    };
    double hits = Sum(metrics, "unicache_cache_hits_total");
    double misses = Sum(metrics, "unicache_cache_misses_total");
    std::string ratio = hits + misses > 0
                            ? std::to_string(static_cast<int>(100 * hits / (hits + misses))) + "%"
                            : "-";
    std::string origin =
        FormatSize(static_cast<uint64_t>(Sum(metrics, "unicache_origin_bytes_total")));
    std::printf("%-22s %-22s %6.2f %-8s %-4s %21s %21s %7s %12s\n", m.id.c_str(), m.address.c_str(),
                m.weight, zone.c_str(), "up", used_cap("ram").c_str(), used_cap("ssd").c_str(),
                ratio.c_str(), origin.c_str());
  }
  std::printf("%zu of %zu members up (view version %llu)\n", up, view->members.size(),
              static_cast<unsigned long long>(view->version));
  if (up == 0) return Fail("status", Unavailable("no member answered /metrics"));
  return 0;
}

}  // namespace

void AddStatusCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<StatusFlags>();
  CLI::App* cmd = app.add_subcommand(
      "status", "Show the cluster's members, their tiers, hit ratio and origin traffic");
  cmd->add_option("--peers", flags->peers,
                  "HOST:PORT[,...] of nodes (default: $UNICACHE_PEERS or 127.0.0.1:8470)");
  cmd->callback([flags, exit_code] { *exit_code = RunStatus(*flags); });
}

}  // namespace unicache::cli

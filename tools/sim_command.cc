// unicache sim: scale scenarios on the real placement and membership code (docs/SCALE.md). Each
// prints a table, writes CSV and a PNG chart under --out, and with --json prints its headline
// figures as one JSON object (the tables then go to stderr).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "cluster/placement.h"
#include "commands.h"
#include "common/units.h"
#include "sim/balance.h"
#include "sim/churn.h"
#include "sim/membership_traffic.h"
#include "sim/report.h"
#include "sim/storm.h"

namespace unicache::cli {
namespace {

using Json = nlohmann::json;
using sim::Num;

struct SimFlags {
  bool quick = false;
  bool json = false;
  std::string out = "sim-results";
  uint64_t seed = 1;
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  // balance and churn
  size_t members = 0;  // 0: the scenario's default
  uint64_t blocks = 0;
  size_t leave = 1;
  // storm
  size_t hosts = 50000;
  uint64_t checkpoint = 1ull << 40;
  double nic_gbps = 80, ssd_gbps = 50, origin_gbps = 120;
  std::vector<size_t> replicas = {1, 3, 16};
};

// Where a scenario's results go, and how its tables are shown.
class Output {
 public:
  explicit Output(const SimFlags& f) : f_(f) {}

  Status Open() {
    std::error_code ec;
    std::filesystem::create_directories(f_.out, ec);
    if (ec) return InvalidArgument("--out " + f_.out + ": " + ec.message());
    return Status::Ok();
  }
  // Prints `table`, writes it as NAME.csv and draws `chart` as NAME.png.
  Status Emit(const std::string& name, const sim::Table& table, const sim::Chart& chart) {
    std::fprintf(f_.json ? stderr : stdout, "%s\n", table.Format().c_str());
    const std::string csv = f_.out + "/" + name + ".csv";
    const std::string png = f_.out + "/" + name + ".png";
    RETURN_IF_ERROR(table.WriteCsv(csv));
    RETURN_IF_ERROR(sim::DrawChart(table, chart, csv, png));
    std::fprintf(stderr, "wrote %s and %s\n", csv.c_str(), png.c_str());
    return Status::Ok();
  }
  void Progress(const std::string& line) const { std::fprintf(stderr, "%s\n", line.c_str()); }

 private:
  const SimFlags& f_;
};

Result<Json> Balance(const SimFlags& f, Output& out) {
  sim::BalanceOptions o;
  o.seed = f.seed;
  o.threads = f.threads;
  if (f.quick) {
    o.sizes = {200, 2000};
    o.blocks_per_member = 200;
    o.lookups = 4000;
    o.rendezvous_max_members = 200;
  }
  if (f.members != 0) o.sizes = {f.members};
  if (f.blocks != 0) o.blocks_per_member = std::max<uint64_t>(1, f.blocks / o.sizes.back());
  std::vector<sim::BalanceRow> rows =
      sim::RunBalance(o, [&](const std::string& s) { out.Progress(s); });
  sim::Table t{"balance: " + std::to_string(o.blocks_per_member) +
                   " blocks per member, weights all 1 or mixed (0.5, 1, 2, 4); max/mean: the "
                   "busiest member against its fair share; lookups: median ns",
               {"members", "weights", "blocks", "max/mean slots", "max/mean rendezvous", "lookup 1",
                "lookup 3", "rendezvous 1", "rendezvous 3", "table bytes", "view bytes"}};
  Json sizes = Json::array();
  for (const auto& r : rows) {
    t.rows.push_back({std::to_string(r.members), r.mixed ? "mixed" : "1", std::to_string(r.blocks),
                      Num(r.max_over_mean),
                      r.rendezvous_max_over_mean > 0 ? Num(r.rendezvous_max_over_mean) : "-",
                      Num(r.lookup_ns_p50), Num(r.lookup3_ns_p50), Num(r.rendezvous_lookup_ns_p50),
                      Num(r.rendezvous_lookup3_ns_p50), std::to_string(r.table_bytes),
                      std::to_string(r.view_bytes)});
    sizes.push_back({{"members", r.members},
                     {"weights", r.mixed ? "mixed" : "1"},
                     {"blocks", r.blocks},
                     {"max_over_mean", r.max_over_mean},
                     {"rendezvous_max_over_mean", r.rendezvous_max_over_mean},
                     {"lookup_ns_p50", r.lookup_ns_p50},
                     {"lookup3_ns_p50", r.lookup3_ns_p50},
                     {"rendezvous_lookup_ns_p50", r.rendezvous_lookup_ns_p50},
                     {"rendezvous_lookup3_ns_p50", r.rendezvous_lookup3_ns_p50},
                     {"view_bytes", r.view_bytes}});
  }
  RETURN_IF_ERROR(
      out.Emit("balance", t, {"Owner lookup, median ns (log scale)", "ns", 0, {4, 5, 6, 7}, true}));
  const sim::BalanceRow& last = rows.back();
  return Json{{"members", last.members},
              {"lookup_ns_p50", last.lookup_ns_p50},
              {"lookup3_ns_p50", last.lookup3_ns_p50},
              {"max_over_mean", last.max_over_mean},
              {"sizes", std::move(sizes)}};
}

Result<Json> Churn(const SimFlags& f, Output& out) {
  sim::ChurnOptions o;
  o.seed = f.seed;
  o.threads = f.threads;
  o.leave = f.leave;
  if (f.quick) {
    o.members = 200;
    o.blocks = 200000;
  }
  if (f.members != 0) o.members = f.members;
  if (f.blocks != 0) o.blocks = f.blocks;
  if (o.members < 2 || o.leave < 1 || o.leave >= o.members) {
    return InvalidArgument("churn needs --members >= 2 and 1 <= --leave < --members");
  }
  std::vector<sim::ChurnRow> rows =
      sim::RunChurn(o, [&](const std::string& s) { out.Progress(s); });
  sim::Table t{
      "churn: " + std::to_string(o.members) + " members, " + std::to_string(o.blocks) +
          " blocks of " + FormatSize(o.block_size),
      {"change (placement)", "blocks moved", "moved", "ideal", "moved/ideal", "origin refetch"}};
  Json headline;
  for (const auto& r : rows) {
    t.rows.push_back({r.event + " (" + r.placement + ")", std::to_string(r.moved),
                      Num(r.moved_fraction), Num(r.ideal_fraction),
                      r.ideal_fraction > 0 ? Num(r.moved_fraction / r.ideal_fraction) : "-",
                      FormatSize(r.refetch_bytes)});
    if (r.placement != "slots") continue;
    const std::string prefix = r.event.ends_with("leave")  ? ""
                               : r.event.ends_with("join") ? "join_"
                                                           : "restart_";
    headline[prefix + "moved_fraction"] = r.moved_fraction;
    headline[prefix + "ideal_fraction"] = r.ideal_fraction;
    headline[prefix + "refetch_bytes"] = r.refetch_bytes;
  }
  RETURN_IF_ERROR(out.Emit(
      "churn", t,
      {"Blocks moved by a change, against the ideal", "fraction of blocks", 0, {2, 3}, false}));
  headline["members"] = o.members;
  headline["blocks"] = o.blocks;
  return headline;
}

Result<Json> Storm(const SimFlags& f, Output& out) {
  sim::StormOptions o;
  o.seed = f.seed;
  o.threads = f.threads;
  o.hosts = f.quick ? 2000 : f.hosts;
  o.checkpoint_bytes = f.quick ? (16ull << 30) : f.checkpoint;
  o.nic_gbps = f.nic_gbps;
  o.ssd_gbps = f.ssd_gbps;
  o.origin_gbps = f.origin_gbps;
  o.replicas = f.replicas;
  if (o.hosts < 1 || o.checkpoint_bytes < 1) {
    return InvalidArgument("storm needs --hosts >= 1 and a --checkpoint of at least one byte");
  }
  for (size_t r : o.replicas) {
    if (r < 1 || r > kMaxReplicas || r > o.hosts) {
      return InvalidArgument("--replicas " + std::to_string(r) + ": each count must be 1.." +
                             std::to_string(std::min(kMaxReplicas, o.hosts)));
    }
  }
  if (o.nic_gbps <= 0 || o.ssd_gbps <= 0 || o.origin_gbps <= 0) {
    return InvalidArgument("--nic-gbps, --ssd-gbps and --origin-gbps must be > 0");
  }
  std::vector<sim::StormRow> rows =
      sim::RunStorm(o, [&](const std::string& s) { out.Progress(s); });
  sim::Table t{"storm: " + std::to_string(o.hosts * o.gpus_per_host) + " GPUs on " +
                   std::to_string(o.hosts) + " hosts load " + FormatSize(o.checkpoint_bytes) +
                   " at once; NIC " + Num(o.nic_gbps) + " Gb/s, SSD " + Num(o.ssd_gbps) +
                   " Gb/s, origin " + Num(o.origin_gbps) + " Gb/s (fluid model: lower bounds)",
               {"design", "origin bytes", "busiest node egress", "seconds", "bound by"}};
  Json designs = Json::array();
  for (const auto& r : rows) {
    t.rows.push_back({r.design, FormatSize(r.origin_bytes), FormatSize(r.peak_node_egress_bytes),
                      Num(r.seconds), r.bound});
    designs.push_back({{"design", r.design},
                       {"origin_bytes", r.origin_bytes},
                       {"peak_node_egress_bytes", r.peak_node_egress_bytes},
                       {"seconds", r.seconds},
                       {"bound", r.bound}});
  }
  RETURN_IF_ERROR(
      out.Emit("storm", t, {"Time to load the checkpoint (log scale)", "seconds", 0, {3}, true}));
  return Json{{"hosts", o.hosts},
              {"checkpoint_bytes", o.checkpoint_bytes},
              {"designs", std::move(designs)}};
}

Result<Json> Membership(const SimFlags& f, Output& out) {
  sim::MembershipTrafficOptions o;
  if (f.quick) o.sizes = {1000, 10000};
  if (f.members != 0) o.sizes = {f.members};
  std::vector<sim::MembershipTrafficRow> rows =
      sim::RunMembershipTraffic(o, [&](const std::string& s) { out.Progress(s); });
  sim::Table t{"membership: following the view, idle plus " + Num(o.changes_per_member_day) +
                   " change per member a day (bytes a second)",
               {"members", "design", "etcd egress", "etcd requests/s", "per member", "per client",
                "breaks"}};
  Json sizes = Json::array();
  for (const auto& r : rows) {
    t.rows.push_back({std::to_string(r.members), r.design, Num(r.etcd_bytes_per_s),
                      Num(r.etcd_requests_per_s), Num(r.per_member_bytes_per_s),
                      Num(r.per_client_bytes_per_s), r.breaks.empty() ? "-" : r.breaks});
    sizes.push_back({{"members", r.members},
                     {"design", r.design},
                     {"etcd_bytes_per_s", r.etcd_bytes_per_s},
                     {"etcd_requests_per_s", r.etcd_requests_per_s},
                     {"per_member_bytes_per_s", r.per_member_bytes_per_s},
                     {"per_client_bytes_per_s", r.per_client_bytes_per_s},
                     {"breaks", r.breaks}});
  }
  FILE* text = f.json ? stderr : stdout;
  Json breaks;
  for (const auto& [design, n] : sim::BreakingSizes(o)) {
    std::fprintf(text, "%s holds up to %zu members\n", design.c_str(), n);
    breaks[design] = n;
  }
  const size_t largest = o.sizes.back();
  const double cold = sim::ColdStartBytes(largest, sim::MeasureWireSizes(largest));
  const double cold_s = cold / (o.etcd_egress_gbps * 1e9 / 8);
  std::fprintf(text, "all %zu members starting at once: etcd sends %s (%s s at %s Gb/s)\n", largest,
               FormatSize(static_cast<uint64_t>(cold)).c_str(), Num(cold_s).c_str(),
               Num(o.etcd_egress_gbps).c_str());
  RETURN_IF_ERROR(
      out.Emit("membership", t, {"Membership traffic (log scale)", "bytes/s", 1, {2, 4, 5}, true}));
  return Json{{"sizes", std::move(sizes)},
              {"largest_members", std::move(breaks)},
              {"cold_start_etcd_bytes", cold},
              {"cold_start_seconds", cold_s}};
}

using Scenario = Result<Json> (*)(const SimFlags&, Output&);

int RunScenarios(const SimFlags& f, const std::vector<std::pair<std::string, Scenario>>& list) {
  Output out(f);
  if (Status st = out.Open(); !st.ok()) return Fail("sim", st);
  Json all;
  for (const auto& [name, run] : list) {
    Result<Json> headline = run(f, out);
    if (!headline.ok()) {
      return Fail("sim " + name, headline.status(),
                  headline.status().code() == StatusCode::kUnavailable
                      ? "install gnuplot-nox (scripts/install-deps.sh does)"
                      : "see `unicache sim " + name + " --help`");
    }
    all[name] = std::move(headline).value();
  }
  if (f.json) std::printf("%s\n", (list.size() == 1 ? all.begin().value() : all).dump().c_str());
  return 0;
}

}  // namespace

void AddSimCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SimFlags>();
  CLI::App* cmd = app.add_subcommand(
      "sim", "Scale scenarios on the real placement and membership code (docs/SCALE.md)");
  cmd->add_flag("--quick", flags->quick, "Run every scenario small (under 2 minutes)");
  auto common = [flags](CLI::App* c) {
    c->add_flag("--json", flags->json, "Print the headline figures as one JSON object");
    c->add_option("--out", flags->out, "Folder for the CSV files and PNG charts")
        ->capture_default_str();
    c->add_option("--seed", flags->seed, "Seed of the simulated fleet and blocks")
        ->capture_default_str();
    c->add_option("--threads", flags->threads, "Threads placing blocks")->capture_default_str();
  };
  common(cmd);
  CLI::App* balance = cmd->add_subcommand("balance", "Balance, lookup cost and view memory");
  balance->add_option("--members", flags->members, "Members [1000, 10000 and 100000]");
  balance->add_option("--blocks", flags->blocks, "Blocks [1000 per member]");
  CLI::App* churn = cmd->add_subcommand("churn", "Blocks moved by leaves, joins and restarts");
  churn->add_option("--members", flags->members, "Members [1000]");
  churn->add_option("--blocks", flags->blocks, "Blocks [1000000]");
  churn->add_option("--leave", flags->leave, "Members that leave (and as many that join)")
      ->capture_default_str();
  CLI::App* storm = cmd->add_subcommand("storm", "A fleet loading one checkpoint at once");
  storm->add_option("--hosts", flags->hosts, "Hosts (8 GPUs each)")->capture_default_str();
  AddSizeOption(*storm, "--checkpoint", &flags->checkpoint, "Checkpoint size [1TiB]");
  storm->add_option("--nic-gbps", flags->nic_gbps, "Each host's NIC")->capture_default_str();
  storm->add_option("--ssd-gbps", flags->ssd_gbps, "Each host's NVMe read")->capture_default_str();
  storm->add_option("--origin-gbps", flags->origin_gbps, "The storage account's egress")
      ->capture_default_str();
  storm->add_option("--replicas", flags->replicas, "Owner counts to compare")->delimiter(',');
  CLI::App* membership =
      cmd->add_subcommand("membership", "Membership update traffic: etcd watch vs polling");
  membership->add_option("--members", flags->members, "Members [1000, 10000 and 100000]");
  for (CLI::App* c : {balance, churn, storm, membership}) common(c);

  const std::vector<std::pair<std::string, Scenario>> all = {
      {"balance", Balance}, {"churn", Churn}, {"storm", Storm}, {"membership", Membership}};
  cmd->callback([cmd, flags, exit_code, all] {
    for (const auto& [name, run] : all) {
      if (cmd->got_subcommand(name)) {
        *exit_code = RunScenarios(*flags, {{name, run}});
        return;
      }
    }
    if (!flags->quick) {
      std::fprintf(stderr,
                   "unicache sim: name a scenario (balance, churn, storm, membership) "
                   "or give --quick to run them all small\n");
      *exit_code = 2;
      return;
    }
    *exit_code = RunScenarios(*flags, all);
  });
}

}  // namespace unicache::cli

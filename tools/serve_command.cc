// unicache serve: runs a node until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <malloc.h>
#include <sys/resource.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <limits>
#include <memory>
#include <vector>

#include "cli_util.h"
#include "commands.h"
#include "common/huge_pages.h"
#include "common/units.h"
#include "server/node.h"

namespace unicache::cli {
namespace {

// Keeps memory freed by evicted and deleted values (blocks, KV values) inside the process for
// the next allocation, instead of returning it to the kernel: glibc by default unmaps large
// chunks on free(), trims the heap top, and spreads threads over arenas whose free memory the
// other threads cannot use. Where freed pages go back to a hypervisor (virtual machines with
// free page reporting), a fresh page was measured at about 16 us per 4 KiB on first touch,
// which capped KV puts at ~0.3 GB/s; reused memory ran at 8-14 GB/s (docs/BENCHMARKS.md, "KV
// cache vs Redis"). Memory stays bounded by --ram and --kv-ram; the process keeps their
// high-water mark. One arena: the large allocations are few, and small ones are served from
// glibc's per-thread caches without the arena lock. An operator's own MALLOC_ARENA_MAX or
// GLIBC_TUNABLES wins.
// Returns false (and changes nothing) when the operator's own settings win.
bool KeepFreedMemory() {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr || std::getenv("GLIBC_TUNABLES") != nullptr) {
    return false;
  }
  mallopt(M_MMAP_MAX, 0);  // large chunks from the heap, so free() keeps them for reuse
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  mallopt(M_ARENA_MAX, 1);
  return true;
}

// Touches `bytes` of heap once and frees them; KeepFreedMemory() makes malloc keep them, so the
// first blocks and values cached land in memory the kernel has already handed over (what a
// long-running node reuses after its first evictions). On the VMs measured a first touch costs
// ~16 us per 4 KiB page, which held cold reads to ~0.3 GB/s (docs/BENCHMARKS.md). The memory is
// advised into huge pages, like blocks themselves (common/huge_pages.h).
void PrefaultHeap(uint64_t bytes) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  constexpr uint64_t kPiece = 256ull << 20;
  std::vector<char*> pieces;
  uint64_t touched = 0;
  while (touched < bytes) {
    const uint64_t size = std::min(kPiece, bytes - touched);
    auto* p = static_cast<char*>(std::malloc(size));
    if (p == nullptr) {
      spdlog::warn("--prefault-ram: could not allocate more than {}", FormatSize(touched));
      break;
    }
    AdviseHugePages(p, size);  // before the first touch, or the pages stay small
    for (uint64_t off = 0; off < size; off += page) static_cast<volatile char*>(p)[off] = 0;
    pieces.push_back(p);
    touched += size;
  }
  // An allocation above the pieces, kept for good: freed memory that borders the heap's top goes
  // back to the kernel once it passes M_TRIM_THRESHOLD, which cannot exceed 2 GiB. Larger than
  // any free chunk this early, so it comes from the top.
  static char* const kHeapTopGuard = static_cast<char*>(std::malloc(1 << 20));
  if (kHeapTopGuard == nullptr || (!pieces.empty() && kHeapTopGuard < pieces.back())) {
    spdlog::warn("--prefault-ram: could not fence the heap top; prefaulted memory may be returned");
  }
  for (char* p : pieces) std::free(p);
  spdlog::info("prefaulted {} of RAM tier memory in {} ms", FormatSize(touched),
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count());
}

struct ServeFlags {
  NodeOptions node;
  std::string metadata_ttl = "10s";
  std::string stale_if_error = "1h";
  std::string queue_deadline = "10s";
  std::string etcd_ttl = "10s";
  std::string member_grace = "15s";
  std::string drain_delay = "0s";
  std::string drain_timeout = "30s";
  bool prefault_ram = false;
};

// Raises the open-file limit to its hard maximum: every connection is a descriptor, and the
// usual soft limit (1,024) is below --max-connections.
void RaiseFileLimit(size_t max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < max_connections + 256) {
    spdlog::warn(
        "open files are limited to {}: fewer than --max-connections ({}) plus the "
        "node's own; raise the hard limit (ulimit -Hn) or lower --max-connections",
        limit.rlim_cur, max_connections);
  }
}

int RunServe(ServeFlags& flags) {
  Result<std::chrono::milliseconds> ttl = ParseDuration(flags.metadata_ttl);
  if (!ttl.ok()) return Fail("serve", ttl.status().WithContext("--metadata-ttl"));
  flags.node.metadata_ttl = *ttl;
  Result<std::chrono::milliseconds> stale = ParseDuration(flags.stale_if_error);
  if (!stale.ok()) return Fail("serve", stale.status().WithContext("--stale-if-error"));
  flags.node.stale_if_error = *stale;
  Result<std::chrono::milliseconds> queue_deadline = ParseDuration(flags.queue_deadline);
  if (!queue_deadline.ok()) {
    return Fail("serve", queue_deadline.status().WithContext("--queue-deadline"));
  }
  flags.node.queue_deadline = *queue_deadline;
  Result<std::chrono::milliseconds> etcd_ttl = ParseDuration(flags.etcd_ttl);
  if (!etcd_ttl.ok()) return Fail("serve", etcd_ttl.status().WithContext("--etcd-ttl"));
  flags.node.etcd_ttl = *etcd_ttl;
  Result<std::chrono::milliseconds> grace = ParseDuration(flags.member_grace);
  if (!grace.ok()) return Fail("serve", grace.status().WithContext("--member-grace"));
  flags.node.member_grace = *grace;
  Result<std::chrono::milliseconds> drain = ParseDuration(flags.drain_timeout);
  if (!drain.ok()) return Fail("serve", drain.status().WithContext("--drain-timeout"));
  flags.node.drain_timeout = *drain;
  Result<std::chrono::milliseconds> drain_delay = ParseDuration(flags.drain_delay);
  if (!drain_delay.ok()) return Fail("serve", drain_delay.status().WithContext("--drain-delay"));
  flags.node.drain_delay = *drain_delay;
  if (Status st = ValidateNodeOptions(flags.node); !st.ok()) {
    return Fail("serve", st, "see `unicache serve --help`");
  }
  // Block the stop signals before any thread starts, so only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (KeepFreedMemory()) {
    if (flags.prefault_ram) PrefaultHeap(flags.node.ram_bytes + flags.node.kv_ram_bytes);
  } else if (flags.prefault_ram) {
    spdlog::warn("--prefault-ram ignored: MALLOC_ARENA_MAX or GLIBC_TUNABLES is set");
  }

  RaiseFileLimit(flags.node.max_connections);
  Result<std::unique_ptr<Node>> node = Node::Start(flags.node);
  if (!node.ok()) return Fail("serve", node.status());
  spdlog::info("unicache node serving on http://{} (ram {}, ssd {}, block {}, cache dir {})",
               (*node)->address(), FormatSize(flags.node.ram_bytes),
               FormatSize(flags.node.ssd_bytes), FormatSize(flags.node.block_size),
               flags.node.cache_dir);
  if ((*node)->s3_port() != 0) {
    spdlog::info("S3 endpoint on port {} (buckets: the origins)", (*node)->s3_port());
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {} received: stopping", sig);
  // SIGTERM (Kubernetes, systemd) drains first; SIGINT (Ctrl-C) stops at once.
  if (sig == SIGTERM) (*node)->Drain(flags.node.drain_delay, flags.node.drain_timeout);
  (*node)->Stop();
  return 0;
}

// CLI11 2.1 reads a subcommand's --config file only when the subcommand is the top-level app;
// this one reads its own when its options are processed, before the required-option checks.
// Precedence: flags, then environment, then the file.
class ServeApp : public CLI::App {
 public:
  using CLI::App::App;
  void ReadConfigFile() {
    if (config_read_) return;  // _process_config_file() validates --config again: no recursion
    config_read_ = true;
    _process_config_file();
  }

 private:
  bool config_read_ = false;
};

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  auto serve = std::make_shared<ServeApp>("Run a cache node (until SIGINT/SIGTERM)", "serve");
  CLI::App* cmd = app.add_subcommand(serve);
  cmd->set_config("--config", "", "Read options from a TOML file (keys are the long flag names)")
      ->each([raw = serve.get()](const std::string&) { raw->ReadConfigFile(); });
  cmd->allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key is an error
  NodeOptions& n = flags->node;
  cmd->add_option("--listen", n.listen, "HOST:PORT to serve HTTP on")
      ->envname("UNICACHE_LISTEN")
      ->capture_default_str();
  cmd->add_option("--origin", n.origins,
                  "Origin as NAME=URI (file:///dir, azure://ACCOUNT/CONTAINER, s3://BUCKET, "
                  "http(s)://...) or a bare directory (named 'local'); repeatable")
      ->envname("UNICACHE_ORIGIN")
      ->required();
  cmd->add_option("--cache-dir", n.cache_dir, "Directory of the SSD tier")
      ->envname("UNICACHE_CACHE_DIR")
      ->required();
  AddSizeOption(*cmd, "--ram", &n.ram_bytes, "RAM tier size [1GiB]")->envname("UNICACHE_RAM");
  cmd->add_flag("--prefault-ram", flags->prefault_ram,
                "Touch the RAM tier's memory (--ram + --kv-ram) once before serving: a slower "
                "start, first fills at the speed of reused memory")
      ->envname("UNICACHE_PREFAULT_RAM");
  AddSizeOption(*cmd, "--ssd", &n.ssd_bytes, "SSD tier size [10GiB]")->envname("UNICACHE_SSD");
  AddSizeOption(*cmd, "--max-upload", &n.max_upload_bytes,
                "Largest object upload (PUT, write-through; streamed to the origin) [5GiB]");
  AddSizeOption(*cmd, "--block-size", &n.block_size, "Block size [4MiB]")
      ->envname("UNICACHE_BLOCK_SIZE");
  auto* ttl = cmd->add_option("--metadata-ttl", flags->metadata_ttl,
                              "How long object metadata is trusted (e.g. 10s, 5m)")
                  ->envname("UNICACHE_METADATA_TTL")
                  ->capture_default_str();
  cmd->add_option("--stale-if-error", flags->stale_if_error,
                  "While an origin is unreachable, keep serving cached objects this long past "
                  "--metadata-ttl (responses say X-Unicache-Cache: stale); 0 turns it off")
      ->envname("UNICACHE_STALE_IF_ERROR")
      ->capture_default_str();
  cmd->add_flag("--immutable", n.immutable, "Origins never change: keep metadata forever")
      ->envname("UNICACHE_IMMUTABLE")
      ->excludes(ttl);
  cmd->add_option("--io-threads", n.io_threads,
                  "Event-loop threads (0 = half the cores, at least one)")
      ->capture_default_str();
  cmd->add_option("--origin-threads", n.origin_threads,
                  "Requests in flight to each origin (its own threads and queue)")
      ->capture_default_str();
  cmd->add_option("--ssd-threads", n.ssd_threads, "Threads reading blocks from the SSD tier")
      ->capture_default_str();
  cmd->add_option("--peer-threads", n.peer_threads, "Threads fetching blocks from other members")
      ->capture_default_str();
  cmd->add_option("--kv-threads", n.kv_threads, "Threads for KV requests that ask other members")
      ->capture_default_str();
  cmd->add_option("--queue-deadline", flags->queue_deadline,
                  "Work that waits this long for a thread of its resource (an origin, the SSD, "
                  "peers) is refused with 503 and Retry-After")
      ->capture_default_str();
  AddSizeOption(*cmd, "--fetch-run", &n.fetch_run_bytes,
                "Read up to this much of an object's cold blocks with one streamed origin "
                "request (a whole object with one plain GET) [0: one ranged request per block]")
      ->envname("UNICACHE_FETCH_RUN");
  cmd->add_option("--readahead", n.readahead_blocks,
                  "Blocks fetched in parallel ahead of a sequential reader")
      ->capture_default_str();
  cmd->add_option("--max-connections", n.max_connections,
                  "Connections beyond this get 503 + Retry-After")
      ->capture_default_str();
  auto* peers =
      cmd->add_option("--peers", n.peers,
                      "Static cluster: HOST:PORT,... of every member (this node included)")
          ->envname("UNICACHE_PEERS");
  cmd->add_option("--discovery", n.discovery,
                  "Dynamic cluster: dns:NAME[:PORT][@DNS_SERVER[:PORT]] (Kubernetes headless "
                  "service; a DNS server to ask instead of the system's) or "
                  "etcd:http://HOST:PORT[,...][/prefix]")
      ->envname("UNICACHE_DISCOVERY")
      ->excludes(peers);
  cmd->add_option("--advertise", n.advertise, "HOST:PORT other members dial (default: --listen)")
      ->envname("UNICACHE_ADVERTISE");
  cmd->add_option("--node-id", n.node_id, "Member id (default: the advertised address)")
      ->envname("UNICACHE_NODE_ID");
  cmd->add_option("--weight", n.weight, "Share of blocks relative to other members")
      ->capture_default_str();
  cmd->add_option("--zone", n.zone, "Failure domain label");
  cmd->add_option("--replicas", n.replicas, "Owners per block")->capture_default_str();
  cmd->add_option("--replicas-for", n.replica_rules,
                  "ORIGIN[/PREFIX]=N: more owners for hot data such as checkpoints; repeatable");
  cmd->add_option("--hot-threshold", n.hot_threshold,
                  "Forwards per second of one block after which a non-owner keeps a copy (0: off)")
      ->capture_default_str();
  cmd->add_option("--kv-namespace", n.kv_namespaces,
                  "KV cache namespace NAME=QUOTA[,ttl=DURATION][,replicas=N], e.g. "
                  "llama3=8GiB,ttl=1h; repeatable (docs/KV.md)");
  AddSizeOption(*cmd, "--kv-ram", &n.kv_ram_bytes,
                "Cap on all KV values; the namespace quotas must fit [sum of quotas]");
  cmd->add_option("--kv-socket", n.kv_socket,
                  "Unix socket of the KV shared-memory path for clients on this host (\"off\": "
                  "none) [CACHE_DIR/kv.sock when KV namespaces are set]")
      ->envname("UNICACHE_KV_SOCKET");
  cmd->add_option("--s3-listen", n.s3_listen,
                  "HOST:PORT of the S3-compatible endpoint (buckets are the origins; docs/S3.md)")
      ->envname("UNICACHE_S3_LISTEN");
  cmd->add_option("--s3-keys", n.s3_keys,
                  "File of S3 keys, one a line: ACCESS_KEY SECRET_KEY BUCKET[,BUCKET...] or * "
                  "(chmod 600)")
      ->envname("UNICACHE_S3_KEYS");
  cmd->add_flag("--s3-anonymous", n.s3_anonymous,
                "Let unsigned S3 requests read (GET/HEAD) every bucket")
      ->envname("UNICACHE_S3_ANONYMOUS");
  cmd->add_option("--s3-domain", n.s3_domain,
                  "Also take virtual-hosted style requests: http://BUCKET.DOMAIN/KEY")
      ->envname("UNICACHE_S3_DOMAIN");
  cmd->add_option("--s3-region", n.s3_region, "The region the S3 endpoint names its buckets in")
      ->capture_default_str();
  cmd->add_option("--etcd-ttl", flags->etcd_ttl, "Lease TTL of this node's etcd registration")
      ->capture_default_str();
  cmd->add_option("--drain-delay", flags->drain_delay,
                  "On SIGTERM: /readyz answers 503 and the node leaves the membership at once, "
                  "but serves new connections this long, so load balancers notice (Kubernetes: a "
                  "few seconds)")
      ->envname("UNICACHE_DRAIN_DELAY")
      ->capture_default_str();
  cmd->add_option("--drain-timeout", flags->drain_timeout,
                  "On SIGTERM: the longest a drain takes (delay included) before in-flight "
                  "requests are cut off; SIGINT stops at once")
      ->envname("UNICACHE_DRAIN_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--member-grace", flags->member_grace,
                  "How long a member that left stays in placement (DNS and etcd discovery): a "
                  "restart or a flap within it moves no blocks")
      ->capture_default_str();
  cmd->callback([flags, exit_code] { *exit_code = RunServe(*flags); });
}

}  // namespace unicache::cli

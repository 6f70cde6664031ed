// unicache demo: makes a small dataset, starts a node on it, reads everything twice, and
// prints the hit ratio and throughput of the cold and the hot pass.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <vector>

#include "cli_util.h"
#include "client/object_client.h"
#include "commands.h"
#include "common/units.h"
#include "server/node.h"

namespace unicache::cli {
namespace {

namespace fs = std::filesystem;

struct DemoFlags {
  int files = 16;
  uint64_t file_bytes = 8ull << 20;
  bool keep = false;
};

Status MakeDataset(const fs::path& dir, const DemoFlags& f) {
  fs::create_directories(dir / "train");
  std::mt19937_64 rng(42);
  std::vector<uint64_t> buf(f.file_bytes / 8 + 1);
  for (int i = 0; i < f.files; ++i) {
    for (auto& w : buf) w = rng();
    char name[64];
    std::snprintf(name, sizeof name, "train/shard-%05d.bin", i);
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(buf.data()),
              static_cast<std::streamsize>(f.file_bytes));
    if (!out) return Internal("cannot write the demo dataset under " + dir.string());
  }
  return Status::Ok();
}

// Reads every object once; returns bytes read.
Result<uint64_t> ReadAll(ObjectClient& client, const std::vector<ObjectInfo>& objects) {
  std::vector<std::byte> buf(8 << 20);
  uint64_t total = 0;
  for (const ObjectInfo& o : objects) {
    for (uint64_t off = 0; off < o.size; off += buf.size()) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), o.size - off));
      ASSIGN_OR_RETURN(size_t n,
                       client.Read("data", o.path, o.version, off, std::span(buf.data(), want)));
      total += n;
    }
  }
  return total;
}

uint64_t MetricValue(const std::string& text, const std::string& series) {
  size_t pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return 0;
  return std::strtoull(text.c_str() + pos + series.size() + 2, nullptr, 10);
}

int RunDemo(const DemoFlags& f) {
  char tmpl[] = "/tmp/unicache-demo-XXXXXX";
  const char* tmp_env = std::getenv("TMPDIR");
  std::string base = tmp_env ? std::string(tmp_env) + "/unicache-demo-XXXXXX" : tmpl;
  std::vector<char> name(base.begin(), base.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr) return Fail("demo", ErrnoStatus("mkdtemp", errno));
  fs::path root(name.data());
  std::printf("demo: writing %d x %s of data under %s\n", f.files, FormatSize(f.file_bytes).c_str(),
              root.c_str());
  if (Status st = MakeDataset(root / "origin", f); !st.ok()) return Fail("demo", st);

  NodeOptions options;
  options.listen = "127.0.0.1:0";
  options.origins = {"data=" + (root / "origin").string()};
  options.cache_dir = (root / "cache").string();
  options.ram_bytes = 256ull << 20;
  options.ssd_bytes = 1ull << 30;
  Result<std::unique_ptr<Node>> node = Node::Start(options);
  if (!node.ok()) return Fail("demo", node.status());
  std::printf("demo: node serving on http://%s\n", (*node)->address().c_str());

  ObjectClient client((*node)->address());
  ListOptions list;
  list.prefix = "train/";
  Result<ListPage> page = client.List("data", list);
  if (!page.ok()) return Fail("demo", page.status());
  int rc = 0;
  for (const char* pass : {"cold", "hot"}) {
    std::string before = client.GetText("/metrics").value();
    auto start = std::chrono::steady_clock::now();
    Result<uint64_t> bytes = ReadAll(client, page->objects);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!bytes.ok()) {
      rc = Fail("demo", bytes.status());
      break;
    }
    std::string after = client.GetText("/metrics").value();
    auto delta = [&](const std::string& s) {
      return MetricValue(after, s) - MetricValue(before, s);
    };
    uint64_t hits = delta("unicache_cache_hits_total{tier=\"ram\"}") +
                    delta("unicache_cache_hits_total{tier=\"ssd\"}");
    uint64_t misses = delta("unicache_cache_misses_total");
    double ratio =
        hits + misses ? 100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses) : 0;
    std::printf(
        "demo: %-4s pass: %s in %.3f s = %s/s, block hit ratio %.1f%% (%llu hits, %llu misses), "
        "origin bytes +%s\n",
        pass, FormatSize(*bytes).c_str(), secs,
        FormatSize(static_cast<uint64_t>(static_cast<double>(*bytes) / secs)).c_str(), ratio,
        static_cast<unsigned long long>(hits), static_cast<unsigned long long>(misses),
        FormatSize(delta("unicache_origin_bytes_total{origin=\"data\"}")).c_str());
  }
  (*node)->Stop();
  if (!f.keep)
    fs::remove_all(root);
  else
    std::printf("demo: kept %s\n", root.c_str());
  if (rc == 0) std::printf("demo: ok\n");
  return rc;
}

}  // namespace

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Generate a small dataset, serve it from a local node, read it twice, print hit ratio");
  cmd->add_option("--files", flags->files, "Number of files")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  AddSizeOption(*cmd, "--file-size", &flags->file_bytes, "Size of each file [8MiB]");
  cmd->add_flag("--keep", flags->keep, "Keep the temporary directory");
  cmd->callback([flags, exit_code] { *exit_code = RunDemo(*flags); });
}

}  // namespace unicache::cli

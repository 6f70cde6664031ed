// Micro-benchmarks of the block store's hot paths: a RAM hit, and Put (RAM insert + queueing).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "store/block_store.h"

namespace unicache {
namespace {

// A temporary store directory removed at scope exit.
struct BenchDir {
  BenchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "unicache-bench-XXXXXX").string();
    path = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

Key128 BenchKey(uint64_t i) { return Key128{i * 0x9e3779b97f4a7c15ULL, i}; }

BlockRef BenchBlock(size_t size) {
  std::shared_ptr<Block> b = Block::Allocate(size).value();
  std::fill(b->mutable_bytes().begin(), b->mutable_bytes().end(), std::byte{7});
  return b;
}

std::unique_ptr<BlockStore> OpenStore(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  o.ram_bytes = 1ull << 30;
  o.ssd_bytes = 256ull << 20;
  Result<std::unique_ptr<BlockStore>> s = BlockStore::Open(o);
  return s.ok() ? std::move(s).value() : nullptr;
}

// Shared by all threads of one run; built by thread 0.
std::unique_ptr<BlockStore> g_store;

void BM_GetRamHit(benchmark::State& state) {
  constexpr int kKeys = 1024;
  static BenchDir* dir = nullptr;
  if (state.thread_index() == 0) {
    dir = new BenchDir;
    g_store = OpenStore(dir->path);
    BlockRef b = BenchBlock(64 << 10);
    for (int i = 0; i < kKeys; ++i) g_store->Put(BenchKey(i), b);
    g_store->Flush();
  }
  uint64_t i = state.thread_index();
  for (auto _ : state) {
    Result<BlockRef> r = g_store->Get(BenchKey(i++ % kKeys));
    benchmark::DoNotOptimize(r);
  }
  if (state.thread_index() == 0) {
    g_store.reset();
    delete dir;
  }
}
BENCHMARK(BM_GetRamHit)->Threads(1)->Threads(4)->UseRealTime();

void BM_Put(benchmark::State& state) {
  BenchDir dir;
  auto store = OpenStore(dir.path);
  BlockRef b = BenchBlock(static_cast<size_t>(state.range(0)));
  uint64_t i = 0;
  for (auto _ : state) store->Put(BenchKey(i++), b);
  state.counters["dropped_writes"] = static_cast<double>(store->Stats().dropped_writes);
}
BENCHMARK(BM_Put)->Arg(64 << 10)->Arg(4 << 20)->MinTime(0.2);

}  // namespace
}  // namespace unicache

// A small Prometheus metrics registry: counters, gauges, histograms with labels, and the text
// exposition format. Metric names follow shared/DESIGN.md ("unicache_*", counters end in _total).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace unicache {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. Thread-safe, lock-free.
class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void Set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
  int64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// A distribution over fixed bucket upper bounds. Thread-safe, lock-free.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Returns the cumulative count of observations <= bounds()[i]; the last entry is +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};  // sum in millionths, to stay lock-free
};

// Default latency buckets in seconds, 100 us .. 10 s.
std::vector<double> LatencyBuckets();

// The registry. Lookups take a lock and return stable references: hot paths look a metric up
// once and keep the reference. Thread-safe.
class MetricsRegistry {
 public:
  // Each returns the metric `name` with `labels`, creating it on first use. `help` is kept from
  // the first call that gives one.
  Counter& GetCounter(std::string_view name, const Labels& labels = {}, std::string_view help = "");
  Gauge& GetGauge(std::string_view name, const Labels& labels = {}, std::string_view help = "");
  Histogram& GetHistogram(std::string_view name, const Labels& labels = {},
                          std::string_view help = "",
                          std::vector<double> bounds = LatencyBuckets());

  // Registers `collect`, called before each rendering to refresh gauges computed on demand
  // (tier usage, membership size). It must not call Render().
  void AddCollector(std::function<void()> collect);

  // Returns all metrics in the Prometheus text exposition format (version 0.0.4).
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered labels
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyLocked(std::string_view name, Type type, std::string_view help);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void()>> collectors_;
};

// Renders labels as {a="x",b="y"} with escaping; "" for no labels.
std::string RenderLabels(const Labels& labels);

}  // namespace unicache

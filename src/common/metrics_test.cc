#include "common/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace unicache {
namespace {

// Returns the lines of `text` without the trailing newline of each.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool HasLine(const std::string& text, const std::string& line) {
  for (const std::string& l : Lines(text)) {
    if (l == line) return true;
  }
  return false;
}

TEST(CounterTest, Increments) {
  Counter c;
  EXPECT_EQ(c.Value(), 0u);
  c.Inc();
  c.Inc(41);
  EXPECT_EQ(c.Value(), 42u);
}

TEST(GaugeTest, SetAndAdd) {
  Gauge g;
  g.Set(10);
  g.Add(-15);
  EXPECT_EQ(g.Value(), -5);
  g.Add(7);
  EXPECT_EQ(g.Value(), 2);
}

TEST(HistogramTest, BucketsAreCumulativeAndUpperBoundInclusive) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 10.0}) h.Observe(v);
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{2, 3, 3, 4}));
  EXPECT_EQ(h.Count(), 4u);
  EXPECT_DOUBLE_EQ(h.Sum(), 13.0);
  EXPECT_EQ(h.bounds(), (std::vector<double>{1, 2, 5}));
}

TEST(HistogramTest, EmptyHasZeroes) {
  Histogram h(LatencyBuckets());
  EXPECT_EQ(h.Count(), 0u);
  EXPECT_EQ(h.Sum(), 0.0);
  EXPECT_EQ(h.CumulativeCounts(), std::vector<uint64_t>(LatencyBuckets().size() + 1, 0));
}

TEST(HistogramTest, LatencyBucketsAreIncreasing) {
  std::vector<double> b = LatencyBuckets();
  ASSERT_FALSE(b.empty());
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

TEST(RenderLabelsTest, EscapesValues) {
  EXPECT_EQ(RenderLabels({}), "");
  EXPECT_EQ(RenderLabels({{"a", "x"}}), "{a=\"x\"}");
  EXPECT_EQ(RenderLabels({{"a", "x"}, {"b", "y"}}), "{a=\"x\",b=\"y\"}");
  EXPECT_EQ(RenderLabels({{"p", "q\"uo\\te\nnl"}}), "{p=\"q\\\"uo\\\\te\\nnl\"}");
}

TEST(MetricsRegistryTest, SameNameAndLabelsGiveSameMetric) {
  MetricsRegistry r;
  Counter& a = r.GetCounter("unicache_x_total", {{"k", "1"}});
  Counter& b = r.GetCounter("unicache_x_total", {{"k", "1"}});
  Counter& c = r.GetCounter("unicache_x_total", {{"k", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_EQ(&r.GetGauge("unicache_g"), &r.GetGauge("unicache_g"));
  EXPECT_EQ(&r.GetHistogram("unicache_h"), &r.GetHistogram("unicache_h"));
}

TEST(MetricsRegistryTest, RendersCountersAndGauges) {
  MetricsRegistry r;
  r.GetCounter("unicache_reads_total", {{"tier", "ram"}}, "Reads by tier.").Inc(3);
  r.GetCounter("unicache_reads_total", {{"tier", "ssd"}}).Inc(5);
  r.GetGauge("unicache_level", {}, "A level.").Set(-7);
  r.GetCounter("unicache_plain_total").Inc();
  std::string text = r.Render();
  EXPECT_EQ(text,
            "# HELP unicache_level A level.\n"
            "# TYPE unicache_level gauge\n"
            "unicache_level -7\n"
            "# TYPE unicache_plain_total counter\n"
            "unicache_plain_total 1\n"
            "# HELP unicache_reads_total Reads by tier.\n"
            "# TYPE unicache_reads_total counter\n"
            "unicache_reads_total{tier=\"ram\"} 3\n"
            "unicache_reads_total{tier=\"ssd\"} 5\n");
}

TEST(MetricsRegistryTest, HelpIsKeptFromTheFirstCallThatGivesOne) {
  MetricsRegistry r;
  r.GetCounter("unicache_a_total");
  r.GetCounter("unicache_a_total", {}, "First help.");
  r.GetCounter("unicache_a_total", {}, "Second help.");
  EXPECT_TRUE(HasLine(r.Render(), "# HELP unicache_a_total First help."));
  EXPECT_FALSE(HasLine(r.Render(), "# HELP unicache_a_total Second help."));
}

TEST(MetricsRegistryTest, RendersEscapedLabelValues) {
  MetricsRegistry r;
  r.GetCounter("unicache_e_total", {{"path", "a\"b\\c\nd"}}).Inc(2);
  EXPECT_TRUE(HasLine(r.Render(), "unicache_e_total{path=\"a\\\"b\\\\c\\nd\"} 2")) << r.Render();
}

TEST(MetricsRegistryTest, RendersHistogramBucketsSumAndCount) {
  MetricsRegistry r;
  Histogram& h = r.GetHistogram("unicache_lat_seconds", {{"op", "get"}}, "Latency.", {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(3);
  std::string text = r.Render();
  EXPECT_EQ(text,
            "# HELP unicache_lat_seconds Latency.\n"
            "# TYPE unicache_lat_seconds histogram\n"
            "unicache_lat_seconds_bucket{op=\"get\",le=\"0.1\"} 1\n"
            "unicache_lat_seconds_bucket{op=\"get\",le=\"1\"} 2\n"
            "unicache_lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
            "unicache_lat_seconds_sum{op=\"get\"} 3.55\n"
            "unicache_lat_seconds_count{op=\"get\"} 3\n");
}

TEST(MetricsRegistryTest, RendersUnlabelledHistogram) {
  MetricsRegistry r;
  r.GetHistogram("unicache_h", {}, "", {2.5}).Observe(1);
  std::string text = r.Render();
  EXPECT_TRUE(HasLine(text, "# TYPE unicache_h histogram"));
  EXPECT_TRUE(HasLine(text, "unicache_h_bucket{le=\"2.5\"} 1"));
  EXPECT_TRUE(HasLine(text, "unicache_h_bucket{le=\"+Inf\"} 1"));
  EXPECT_TRUE(HasLine(text, "unicache_h_sum 1"));
  EXPECT_TRUE(HasLine(text, "unicache_h_count 1"));
}

TEST(MetricsRegistryTest, CollectorsRunBeforeEachRender) {
  MetricsRegistry r;
  Gauge& g = r.GetGauge("unicache_collected");
  int calls = 0;
  r.AddCollector([&] { g.Set(++calls * 10); });
  EXPECT_TRUE(HasLine(r.Render(), "unicache_collected 10"));
  EXPECT_TRUE(HasLine(r.Render(), "unicache_collected 20"));
  EXPECT_EQ(calls, 2);
}

TEST(MetricsRegistryTest, CollectorMayCreateMetrics) {
  MetricsRegistry r;
  r.AddCollector([&] { r.GetGauge("unicache_late").Set(5); });
  EXPECT_TRUE(HasLine(r.Render(), "unicache_late 5"));
}

TEST(MetricsRegistryTest, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry r;
  constexpr int kThreads = 8;
  constexpr int kIncs = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncs; ++i) {
        r.GetCounter("unicache_c_total", {{"k", "v"}}).Inc();
        r.GetHistogram("unicache_h_seconds").Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.GetCounter("unicache_c_total", {{"k", "v"}}).Value(), uint64_t{kThreads * kIncs});
  EXPECT_EQ(r.GetHistogram("unicache_h_seconds").Count(), uint64_t{kThreads * kIncs});
  EXPECT_TRUE(HasLine(r.Render(), "unicache_c_total{k=\"v\"} 80000"));
}

}  // namespace
}  // namespace unicache

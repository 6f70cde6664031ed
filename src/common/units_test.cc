#include "common/units.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace unicache {
namespace {

using std::chrono::milliseconds;

uint64_t SizeOf(std::string_view text) {
  Result<uint64_t> r = ParseSize(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : 0;
}

TEST(ParseSizeTest, PlainBytes) {
  EXPECT_EQ(SizeOf("0"), 0u);
  EXPECT_EQ(SizeOf("4096"), 4096u);
  EXPECT_EQ(SizeOf("10B"), 10u);
  EXPECT_EQ(SizeOf("10b"), 10u);
}

TEST(ParseSizeTest, BinaryUnits) {
  EXPECT_EQ(SizeOf("1KiB"), 1024u);
  EXPECT_EQ(SizeOf("512MiB"), 512ull << 20);
  EXPECT_EQ(SizeOf("4GiB"), 4ull << 30);
  EXPECT_EQ(SizeOf("2TiB"), 2ull << 40);
  EXPECT_EQ(SizeOf("1.5GiB"), 1536ull << 20);
  EXPECT_EQ(SizeOf("0.5KiB"), 512u);
  EXPECT_EQ(SizeOf(".5KiB"), 512u);
}

TEST(ParseSizeTest, SingleLettersMeanBinaryUnits) {
  EXPECT_EQ(SizeOf("1K"), 1024u);
  EXPECT_EQ(SizeOf("3M"), 3ull << 20);
  EXPECT_EQ(SizeOf("4G"), 4ull << 30);
  EXPECT_EQ(SizeOf("1T"), 1ull << 40);
}

TEST(ParseSizeTest, DecimalUnitsDifferFromBinary) {
  EXPECT_EQ(SizeOf("1KB"), 1000u);
  EXPECT_EQ(SizeOf("1KiB"), 1024u);
  EXPECT_EQ(SizeOf("5MB"), 5000000u);
  EXPECT_EQ(SizeOf("4GB"), 4000000000u);
  EXPECT_EQ(SizeOf("2TB"), 2000000000000u);
  EXPECT_NE(SizeOf("4GB"), SizeOf("4GiB"));
}

TEST(ParseSizeTest, UnitsAreCaseInsensitiveAndMayFollowASpace) {
  EXPECT_EQ(SizeOf("512mib"), 512ull << 20);
  EXPECT_EQ(SizeOf("512MIB"), 512ull << 20);
  EXPECT_EQ(SizeOf("4 GiB"), 4ull << 30);
  EXPECT_EQ(SizeOf("1kb"), 1000u);
}

TEST(ParseSizeTest, FractionsRoundDown) {
  EXPECT_EQ(SizeOf("1.5"), 1u);
  EXPECT_EQ(SizeOf("1.0009KB"), 1000u);
}

TEST(ParseSizeTest, RejectsBadInput) {
  for (std::string_view bad : {"", "MiB", "abc", "4XB", "4 parsecs", "4GiBs", "4Gi", "1..5GiB",
                               "1.2.3", ".", "0x10", " 4GiB", "4GiB!", "1e3"}) {
    Result<uint64_t> r = ParseSize(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed as " << (r.ok() ? *r : 0);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(ParseSizeTest, RejectsNegatives) {
  for (std::string_view bad : {"-1", "-1GiB", "-0.5KiB", "+1"}) {
    Result<uint64_t> r = ParseSize(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ParseSizeTest, RejectsOverflow) {
  for (std::string_view bad : {"18446744073709551616", "99999999999999999999999", "20000000TiB",
                               "17179869184TiB", "100000000TB"}) {
    Result<uint64_t> r = ParseSize(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  // Large but representable values still parse.
  EXPECT_EQ(SizeOf("10000000000000000000"), 10000000000000000000ull);
  EXPECT_EQ(SizeOf("1024TiB"), 1ull << 50);
}

milliseconds DurationOf(std::string_view text) {
  Result<milliseconds> r = ParseDuration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : milliseconds(-1);
}

TEST(ParseDurationTest, Units) {
  EXPECT_EQ(DurationOf("250ms"), milliseconds(250));
  EXPECT_EQ(DurationOf("10s"), milliseconds(10000));
  EXPECT_EQ(DurationOf("5m"), milliseconds(300000));
  EXPECT_EQ(DurationOf("5min"), milliseconds(300000));
  EXPECT_EQ(DurationOf("2h"), milliseconds(7200000));
  EXPECT_EQ(DurationOf("1.5s"), milliseconds(1500));
  EXPECT_EQ(DurationOf("0ms"), milliseconds(0));
  EXPECT_EQ(DurationOf("10 S"), milliseconds(10000));
}

TEST(ParseDurationTest, BareNumberIsSeconds) {
  EXPECT_EQ(DurationOf("10"), milliseconds(10000));
  EXPECT_EQ(DurationOf("0.25"), milliseconds(250));
}

TEST(ParseDurationTest, ForeverIsMax) {
  for (std::string_view text : {"forever", "inf", "infinite", "INF", "Forever"}) {
    EXPECT_EQ(DurationOf(text), milliseconds::max()) << text;
  }
}

TEST(ParseDurationTest, RejectsBadInput) {
  for (std::string_view bad :
       {"", "s", "ms", "5d", "5 weeks", "-1s", "-5", "1..2s", "abc", "10sec", "9999999999999h"}) {
    Result<milliseconds> r = ParseDuration(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "'";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FormatSizeTest, Formats) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(1), "1 B");
  EXPECT_EQ(FormatSize(1023), "1023 B");
  EXPECT_EQ(FormatSize(1024), "1.0 KiB");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(4ull << 20), "4.0 MiB");
  EXPECT_EQ(FormatSize(1536ull << 20), "1.5 GiB");
  EXPECT_EQ(FormatSize(3ull << 40), "3.0 TiB");
  EXPECT_EQ(FormatSize(1ull << 50), "1.0 PiB");
  EXPECT_EQ(FormatSize(1ull << 60), "1024.0 PiB");
  EXPECT_EQ(FormatSize(std::numeric_limits<uint64_t>::max()), "16384.0 PiB");
}

TEST(FormatSizeTest, RoundTripsThroughParseSize) {
  for (uint64_t v : {1ull << 10, 4ull << 20, 512ull << 20, 4ull << 30, 2ull << 40}) {
    std::string text = FormatSize(v);
    std::string compact;
    for (char c : text) {
      if (c != ' ') compact.push_back(c);
    }
    EXPECT_EQ(SizeOf(compact), v) << text;
  }
}

}  // namespace
}  // namespace unicache

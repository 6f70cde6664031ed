#include "server/byte_range.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace unicache {
namespace {

// Returns the range `header` resolves to against `size`; fails the test on an error or nullopt.
ByteRange Resolve(std::string_view header, uint64_t size) {
  Result<std::optional<ByteRange>> r = ParseRange(header, size);
  EXPECT_TRUE(r.ok()) << "'" << header << "': " << r.status().ToString();
  if (!r.ok()) return {~0ull, ~0ull};
  EXPECT_TRUE(r->has_value()) << header;
  return r->value_or(ByteRange{~0ull, ~0ull});
}

StatusCode ErrorOf(std::string_view header, uint64_t size) {
  Result<std::optional<ByteRange>> r = ParseRange(header, size);
  EXPECT_FALSE(r.ok()) << "'" << header << "' resolved";
  return r.status().code();
}

void ExpectRange(std::string_view header, uint64_t size, uint64_t first, uint64_t last) {
  SCOPED_TRACE(std::string(header) + " size " + std::to_string(size));
  ByteRange r = Resolve(header, size);
  EXPECT_EQ(r.first, first);
  EXPECT_EQ(r.last, last);
  if (r.first == first && r.last == last) {
    EXPECT_EQ(r.length(), last - first + 1);
  }
}

TEST(RangeStartsAtZeroTest, WholeObjectAndRangesFromZero) {
  EXPECT_TRUE(RangeStartsAtZero(""));
  EXPECT_TRUE(RangeStartsAtZero("bytes=0-99"));
  EXPECT_TRUE(RangeStartsAtZero(" bytes=0- "));
  EXPECT_FALSE(RangeStartsAtZero("bytes=1-99"));
  EXPECT_FALSE(RangeStartsAtZero("bytes=-500"));  // a suffix: where it starts depends on size
  EXPECT_FALSE(RangeStartsAtZero("bytes=0-1,5-9"));
  EXPECT_FALSE(RangeStartsAtZero("items=0-9"));
}

TEST(ParseRangeTest, AbsentHeaderMeansWholeObject) {
  for (std::string_view h : {"", " ", "\t "}) {
    Result<std::optional<ByteRange>> r = ParseRange(h, 100);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value());
  }
  Result<std::optional<ByteRange>> empty_object = ParseRange("", 0);
  ASSERT_TRUE(empty_object.ok());
  EXPECT_FALSE(empty_object->has_value());
}

TEST(ParseRangeTest, FirstDashLast) {
  ExpectRange("bytes=0-99", 100, 0, 99);
  ExpectRange("bytes=0-0", 100, 0, 0);
  ExpectRange("bytes=10-19", 100, 10, 19);
  ExpectRange("bytes=99-99", 100, 99, 99);
  EXPECT_EQ(Resolve("bytes=10-19", 100).length(), 10u);
}

TEST(ParseRangeTest, OpenEnded) {
  ExpectRange("bytes=0-", 100, 0, 99);
  ExpectRange("bytes=50-", 100, 50, 99);
  ExpectRange("bytes=99-", 100, 99, 99);
}

TEST(ParseRangeTest, Suffix) {
  ExpectRange("bytes=-10", 100, 90, 99);
  ExpectRange("bytes=-1", 100, 99, 99);
  ExpectRange("bytes=-100", 100, 0, 99);
  ExpectRange("bytes=-500", 100, 0, 99);  // n > size: the whole object
  ExpectRange("bytes=-5", 1, 0, 0);
}

TEST(ParseRangeTest, LastPastTheEndIsClamped) {
  ExpectRange("bytes=0-100", 100, 0, 99);
  ExpectRange("bytes=50-1000000", 100, 50, 99);
  ExpectRange("bytes=99-100", 100, 99, 99);
  ExpectRange("bytes=0-9223372036854775807", 100, 0, 99);
}

TEST(ParseRangeTest, HugeNumbersSaturateInsteadOfFailing) {
  // RFC 9110 14.1.1: a last-pos at or past the end means "to the end", however large.
  ExpectRange("bytes=0-18446744073709551615", 100, 0, 99);
  ExpectRange("bytes=0-99999999999999999999999", 100, 0, 99);
  ExpectRange("bytes=-99999999999999999999999", 100, 0, 99);
  EXPECT_EQ(ErrorOf("bytes=99999999999999999999999-", 100), StatusCode::kOutOfRange);
}

TEST(ParseRangeTest, FirstAtOrPastTheEndIsOutOfRange) {
  EXPECT_EQ(ErrorOf("bytes=100-", 100), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=100-200", 100), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=5000-", 100), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=-0", 100), StatusCode::kOutOfRange);
}

TEST(ParseRangeTest, ZeroSizeObjectHasNoSatisfiableRange) {
  EXPECT_EQ(ErrorOf("bytes=0-", 0), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=0-0", 0), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=0-99", 0), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=-1", 0), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=-0", 0), StatusCode::kOutOfRange);
}

TEST(ParseRangeTest, MalformedIsInvalidArgument) {
  for (std::string_view h :
       {"bytes",      "bytes=",      "bytes=-",     "bytes=5",     "bytes=a-b",
        "bytes=1-a",  "bytes=a-",    "bytes=-a",    "items=0-1",   "0-1",
        "bytes 0-1",  "bytes:0-1",   "bytes=10-5",  "bytes=1-2-3", "bytes=-1-2",
        "bytes=+1-2", "bytes=0x10-", "bytes=1.5-2", "bytes=--1",   "bytes=- 1x"}) {
    EXPECT_EQ(ErrorOf(h, 100), StatusCode::kInvalidArgument) << h;
  }
}

TEST(ParseRangeTest, MultipleRangesAreInvalidArgument) {
  for (std::string_view h : {"bytes=0-9,20-29", "bytes=0-9, 20-29", "bytes=-1,0-", "bytes=0-0,"}) {
    EXPECT_EQ(ErrorOf(h, 100), StatusCode::kInvalidArgument) << h;
  }
}

TEST(ParseRangeTest, WhitespaceAroundPartsIsIgnored) {
  ExpectRange(" bytes=0-9 ", 100, 0, 9);
  ExpectRange("\tbytes=0-9\t", 100, 0, 9);
  ExpectRange("bytes= 0-9", 100, 0, 9);
  ExpectRange("bytes=0 - 9", 100, 0, 9);
  ExpectRange("bytes= -10 ", 100, 90, 99);
}

}  // namespace
}  // namespace unicache

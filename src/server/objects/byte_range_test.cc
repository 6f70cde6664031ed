#include "server/objects/byte_range.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace unicache {
namespace {

// Returns the one range `header` resolves to against `size`; fails the test otherwise.
ByteRange Resolve(std::string_view header, uint64_t size) {
  Result<std::vector<ByteRange>> r = ResolveRanges(header, size);
  EXPECT_TRUE(r.ok()) << "'" << header << "': " << r.status().ToString();
  if (!r.ok()) return {~0ull, ~0ull};
  EXPECT_EQ(r->size(), 1u) << header;
  return r->size() == 1 ? (*r)[0] : ByteRange{~0ull, ~0ull};
}

// Returns whether `header` is ignored (the whole object is served).
bool Ignored(std::string_view header, uint64_t size) {
  Result<std::vector<ByteRange>> r = ResolveRanges(header, size);
  return r.ok() && r->empty();
}

StatusCode ErrorOf(std::string_view header, uint64_t size) {
  Result<std::vector<ByteRange>> r = ResolveRanges(header, size);
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
  EXPECT_TRUE(RangeStartsAtZero("items=0-9"));  // ignored: the whole object
}

TEST(ResolveRangesTest, AbsentHeaderMeansWholeObject) {
  for (std::string_view h : {"", " ", "\t "}) EXPECT_TRUE(Ignored(h, 100)) << h;
  EXPECT_TRUE(Ignored("", 0));
}

TEST(ResolveRangesTest, FirstDashLast) {
  ExpectRange("bytes=0-99", 100, 0, 99);
  ExpectRange("bytes=0-0", 100, 0, 0);
  ExpectRange("bytes=10-19", 100, 10, 19);
  ExpectRange("bytes=99-99", 100, 99, 99);
  EXPECT_EQ(Resolve("bytes=10-19", 100).length(), 10u);
}

TEST(ResolveRangesTest, OpenEnded) {
  ExpectRange("bytes=0-", 100, 0, 99);
  ExpectRange("bytes=50-", 100, 50, 99);
  ExpectRange("bytes=99-", 100, 99, 99);
}

TEST(ResolveRangesTest, Suffix) {
  ExpectRange("bytes=-10", 100, 90, 99);
  ExpectRange("bytes=-1", 100, 99, 99);
  ExpectRange("bytes=-100", 100, 0, 99);
  ExpectRange("bytes=-500", 100, 0, 99);  // n > size: the whole object
  ExpectRange("bytes=-5", 1, 0, 0);
}

TEST(ResolveRangesTest, LastPastTheEndIsClamped) {
  ExpectRange("bytes=0-100", 100, 0, 99);
  ExpectRange("bytes=50-1000000", 100, 50, 99);
  ExpectRange("bytes=99-100", 100, 99, 99);
  ExpectRange("bytes=0-9223372036854775807", 100, 0, 99);
}

TEST(ResolveRangesTest, HugeNumbersSaturateInsteadOfFailing) {
  // RFC 9110 14.1.1: a last-pos at or past the end means "to the end", however large.
  ExpectRange("bytes=0-18446744073709551615", 100, 0, 99);
  ExpectRange("bytes=0-99999999999999999999999", 100, 0, 99);
  ExpectRange("bytes=-99999999999999999999999", 100, 0, 99);
  EXPECT_EQ(ErrorOf("bytes=99999999999999999999999-", 100), StatusCode::kOutOfRange);
}

TEST(ResolveRangesTest, FirstAtOrPastTheEndIsOutOfRange) {
  EXPECT_EQ(ErrorOf("bytes=100-", 100), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=100-200", 100), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=5000-", 100), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=-0", 100), StatusCode::kOutOfRange);
}

TEST(ResolveRangesTest, ZeroSizeObjectHasNoSatisfiableRange) {
  EXPECT_EQ(ErrorOf("bytes=0-", 0), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=0-0", 0), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=0-99", 0), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=-1", 0), StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorOf("bytes=-0", 0), StatusCode::kOutOfRange);
}

TEST(ResolveRangesTest, InvalidRangesAreUnsatisfiable) {
  // RFC 9110 14.1.1 lets a server ignore or reject an invalid ranges-specifier: rejected (416).
  for (std::string_view h :
       {"bytes=", "bytes=-", "bytes=5", "bytes=a-b", "bytes=1-a", "bytes=a-", "bytes=-a",
        "bytes=10-5", "bytes=1-2-3", "bytes=-1-2", "bytes=+1-2", "bytes=0x10-", "bytes=1.5-2",
        "bytes=--1", "bytes=- 1x", "bytes=0-1,abc", "bytes=,"}) {
    EXPECT_EQ(ErrorOf(h, 100), StatusCode::kOutOfRange) << h;
  }
}

TEST(ResolveRangesTest, UnknownUnitsAreIgnored) {
  // RFC 9110 14.2: a range unit the server does not support MUST be ignored.
  for (std::string_view h : {"items=0-1", "0-1", "bytes 0-1", "bytes:0-1", "bytes", "pages=1-"}) {
    EXPECT_TRUE(Ignored(h, 100)) << h;
  }
  ExpectRange("BYTES=0-9", 100, 0, 9);  // units are case-insensitive
}

TEST(ResolveRangesTest, MultipleRangesInRequestOrder) {
  Result<std::vector<ByteRange>> r = ResolveRanges("bytes=0-9, 100-109,-5, 90-", 200);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].first, 0u);
  EXPECT_EQ((*r)[0].last, 9u);
  EXPECT_EQ((*r)[1].first, 100u);
  EXPECT_EQ((*r)[1].last, 109u);
  EXPECT_EQ((*r)[2].first, 195u);
  EXPECT_EQ((*r)[3].first, 90u);
  EXPECT_EQ((*r)[3].last, 199u);
  ExpectRange("bytes=0-0,", 100, 0, 0);  // an empty list element is allowed
}

TEST(ResolveRangesTest, UnsatisfiableRangesAmongOthersAreDropped) {
  ExpectRange("bytes=500-600,10-19", 100, 10, 19);
  EXPECT_EQ(ErrorOf("bytes=500-600,100-", 100), StatusCode::kOutOfRange);
}

TEST(ResolveRangesTest, TooManyRangesAreIgnored) {
  std::string many = "bytes=0-0";
  for (size_t i = 1; i < kMaxRanges; ++i) many += "," + std::to_string(i) + "-" + std::to_string(i);
  Result<std::vector<ByteRange>> r = ResolveRanges(many, 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), kMaxRanges);
  EXPECT_TRUE(Ignored(many + ",999-999", 1000));
}

TEST(MultipartRangesTest, LengthMatchesTheFraming) {
  std::vector<ByteRange> ranges = {{0, 9}, {100, 109}};
  MultipartRanges m(ranges, 200);
  std::string body =
      m.PartHead(0) + std::string(10, 'a') + m.PartHead(1) + std::string(10, 'b') + m.Tail();
  EXPECT_EQ(body.size(), m.content_length());
  const std::string boundary = m.content_type().substr(m.content_type().find("boundary=") + 9);
  EXPECT_TRUE(m.PartHead(0).starts_with("--" + boundary + "\r\n"));
  EXPECT_NE(m.PartHead(1).find("Content-Range: bytes 100-109/200\r\n\r\n"), std::string::npos);
  EXPECT_EQ(m.Tail(), "\r\n--" + boundary + "--\r\n");
  EXPECT_NE(MultipartRanges(ranges, 200).content_type(), m.content_type());  // random boundary
}

TEST(ResolveRangesTest, WhitespaceAroundPartsIsIgnored) {
  ExpectRange(" bytes=0-9 ", 100, 0, 9);
  ExpectRange("\tbytes=0-9\t", 100, 0, 9);
  ExpectRange("bytes= 0-9", 100, 0, 9);
  ExpectRange("bytes=0 - 9", 100, 0, 9);
  ExpectRange("bytes= -10 ", 100, 90, 99);
}

}  // namespace
}  // namespace unicache

#include "common/http_answer.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

HttpResponse Answer(int status, std::string content_range, std::string length,
                    std::string etag = "\"v1\"") {
  HttpResponse r;
  r.status = status;
  if (!content_range.empty()) r.headers["content-range"] = content_range;
  if (!length.empty()) r.headers["content-length"] = length;
  if (!etag.empty()) r.headers["etag"] = etag;
  return r;
}

Status Check(const HttpResponse& r, uint64_t offset, uint64_t length, uint64_t size = 100,
             std::string_view version = "v1") {
  return CheckRangeAnswer(r, RangeQuestion{offset, length, size, version}, "t");
}

TEST(ParseContentRangeTest, ParsesAndRejects) {
  auto r = ParseContentRange("bytes 0-9/100");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 9u);
  EXPECT_EQ(r->total, 100u);
  auto unknown = ParseContentRange("bytes 5-9/*");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->total);
  for (std::string_view bad : {"", "bytes */100", "bytes 9-5/100", "bytes 0-100/100", "items 0-1/2",
                               "bytes 0-9", "bytes a-9/100", "bytes 0-9/1x"}) {
    EXPECT_FALSE(ParseContentRange(bad)) << bad;
  }
}

TEST(CheckRangeAnswerTest, AcceptsTheRangeAskedFor) {
  EXPECT_TRUE(Check(Answer(206, "bytes 10-19/100", "10"), 10, 10).ok());
  EXPECT_TRUE(Check(Answer(206, "bytes 90-99/100", "10"), 90, 20).ok());   // short at the end
  EXPECT_TRUE(Check(Answer(200, "", "100"), 0, 100).ok());                 // the whole object
  EXPECT_TRUE(Check(Answer(206, "bytes 0-9/100", "10", ""), 0, 10).ok());  // no ETag stated
  EXPECT_TRUE(Check(Answer(206, "bytes 0-9/100", "10", "W/\"v1\""), 0, 10).ok());
  // Unknown size or version on the asking side: only what is known is compared.
  EXPECT_TRUE(
      Check(Answer(206, "bytes 0-9/555", "10", "\"zz\""), 0, 10, RangeQuestion::kUnknown, "").ok());
}

TEST(CheckRangeAnswerTest, RefusesAnotherAnswerAsATransportFault) {
  struct Case {
    HttpResponse answer;
    uint64_t offset, length;
  };
  const Case cases[] = {
      {Answer(206, "bytes 20-29/100", "10"), 10, 10},            // another range
      {Answer(206, "bytes 10-14/100", "5"), 10, 10},             // short, not at the end
      {Answer(206, "bytes 10-29/100", "20"), 10, 10},            // longer than asked
      {Answer(206, "bytes 10-19/200", "10"), 10, 10},            // another object's size
      {Answer(206, "bytes 10-19/100", "10", "\"v2\""), 10, 10},  // another version
      {Answer(206, "bytes 10-19/100", "11"), 10, 10},            // length disagrees with the range
      {Answer(206, "", "10"), 10, 10},                           // no Content-Range
      {Answer(206, "garbage", "10"), 10, 10},
      {Answer(200, "", "100"), 10, 10},  // whole object for a range
      {Answer(200, "", "50"), 0, 100},   // another object's length
      {Answer(204, "", "0"), 0, 10},
  };
  for (const Case& c : cases) {
    Status st = Check(c.answer, c.offset, c.length);
    EXPECT_EQ(st.code(), StatusCode::kUnavailable)
        << c.answer.status << " " << c.answer.Header("content-range") << " "
        << c.answer.Header("etag");
    EXPECT_TRUE(st.retryable());
  }
}

TEST(EtagTest, NormalizeAndQuote) {
  EXPECT_EQ(NormalizeEtag("\"abc\""), "abc");
  EXPECT_EQ(NormalizeEtag("W/\"abc\""), "abc");
  EXPECT_EQ(NormalizeEtag("abc"), "abc");
  EXPECT_EQ(QuoteEtag("abc"), "\"abc\"");
}

}  // namespace
}  // namespace unicache

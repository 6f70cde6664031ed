#include "origin/http_util.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

HttpResponse Answer(int status, std::map<std::string, std::string> headers) {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  return r;
}

TEST(InfoFromReadTest, PartialAnswerTakesTheSizeFromContentRange) {
  Result<ObjectInfo> info =
      InfoFromRead(Answer(206, {{"content-range", "bytes 0-4194303/67108864"},
                                {"content-length", "4194304"},
                                {"etag", "\"0x8DC\""},
                                {"last-modified", "Wed, 09 Sep 2009 09:20:02 GMT"}}),
                   "a/b.bin", EtagVersion);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->path, "a/b.bin");
  EXPECT_EQ(info->size, 67108864u);
  EXPECT_EQ(info->version, "0x8DC");
  EXPECT_EQ(info->mtime_ms, 1252488002000);
}

TEST(InfoFromReadTest, WholeAnswerTakesTheSizeFromContentLength) {
  Result<ObjectInfo> info = InfoFromRead(
      Answer(200, {{"content-length", "10"}, {"etag", "W/\"abc\""}}), "x", EtagVersion);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 10u);
  EXPECT_EQ(info->version, "abc");
}

TEST(InfoFromReadTest, PartialAnswerWithoutATotalIsAnError) {
  for (const char* range : {"bytes 0-9/*", "bytes 0-9", ""}) {
    Result<ObjectInfo> info =
        InfoFromRead(Answer(206, {{"content-range", range}}), "x", EtagVersion);
    ASSERT_FALSE(info.ok()) << range;
    EXPECT_EQ(info.status().code(), StatusCode::kInternal) << range;
  }
}

TEST(OpenNeedsStatTest, OnlyBeforeTheMetadataAndOnlyFor416OrTransportFailures) {
  EXPECT_TRUE(OpenNeedsStat(Answer(416, {}), /*informed=*/false));
  EXPECT_TRUE(OpenNeedsStat(Unavailable("Transferred a partial file"), false));
  EXPECT_FALSE(OpenNeedsStat(Unavailable("reset"), /*informed=*/true));
  EXPECT_FALSE(OpenNeedsStat(DeadlineExceeded("timeout"), false));
  EXPECT_FALSE(OpenNeedsStat(Answer(404, {}), false));
  EXPECT_FALSE(OpenNeedsStat(Answer(206, {}), false));
}

TEST(CheckServedReadTest, RefusesAnotherRangeOrVersion) {
  HttpResponse r = Answer(
      206,
      {{"content-range", "bytes 100-199/1000"}, {"content-length", "100"}, {"etag", "\"v1\""}});
  EXPECT_TRUE(CheckServedRead(r, 100, "v1", EtagVersion, "t").ok());
  EXPECT_EQ(CheckServedRead(r, 0, "v1", EtagVersion, "t").code(),
            StatusCode::kUnavailable);  // another range
  EXPECT_EQ(CheckServedRead(r, 100, "v2", EtagVersion, "t").code(),
            StatusCode::kPreconditionFailed);
  r.headers.erase("content-range");
  EXPECT_EQ(CheckServedRead(r, 100, "v1", EtagVersion, "t").code(), StatusCode::kUnavailable);
  // An empty answer at the end carries no bytes to misplace (Azurite's "bytes 1200-1199/1200").
  HttpResponse end =
      Answer(206, {{"content-range", "bytes 1200-1199/1200"}, {"content-length", "0"}});
  EXPECT_TRUE(CheckServedRead(end, 1200, "", EtagVersion, "t").ok());
  HttpResponse whole = Answer(200, {{"content-length", "1200"}});
  EXPECT_TRUE(CheckServedRead(whole, 0, "", EtagVersion, "t").ok());
  EXPECT_FALSE(CheckServedRead(whole, 5, "", EtagVersion, "t").ok());  // the range was ignored
}

}  // namespace
}  // namespace unicache

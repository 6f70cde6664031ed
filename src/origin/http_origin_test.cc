#include "origin/http_origin.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

HttpResponse Head(int status, std::map<std::string, std::string> headers) {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  return r;
}

TEST(HttpOriginUriTest, SplitsAuthorityBaseAndQuery) {
  Result<HttpOriginUri> u = ParseHttpOriginUri("https://cdn.example.com:8443/data/v1?sig=abc&se=1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->authority, "cdn.example.com:8443");
  EXPECT_EQ(u->base, "/data/v1/");
  EXPECT_EQ(u->query, "sig=abc&se=1");
  Result<HttpOriginUri> bare = ParseHttpOriginUri("HTTP://127.0.0.1:8080");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->scheme, "http");
  EXPECT_EQ(bare->base, "/");
  EXPECT_TRUE(bare->query.empty());
}

TEST(HttpOriginUriTest, RefusesWhatItCannotUseWithoutEchoingSecrets) {
  for (const char* bad : {"ftp://h/x", "http://", "http:///x", "http://h/a/../b", "http://h/a//b",
                          "http://user:hunter2@h/x"}) {
    Result<HttpOriginUri> u = ParseHttpOriginUri(bad);
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.status().message().find("hunter2"), std::string::npos);
  }
}

TEST(HttpOriginTest, TheVersionIsTheStrongEtagElseLastModifiedAndSize) {
  EXPECT_EQ(HttpVersionOf(Head(200, {{"etag", "\"5f-abc\""}, {"content-length", "95"}})), "5f-abc");
  const std::string lm = "Wed, 09 Sep 2009 09:20:02 GMT";
  EXPECT_EQ(HttpVersionOf(
                Head(200, {{"etag", "W/\"5f\""}, {"last-modified", lm}, {"content-length", "95"}})),
            "lm-1252488002000-95");
  EXPECT_EQ(HttpVersionOf(Head(206, {{"last-modified", lm},
                                     {"content-range", "bytes 0-9/95"},
                                     {"content-length", "10"}})),
            "lm-1252488002000-95");
  EXPECT_EQ(HttpVersionOf(Head(200, {{"content-length", "95"}})), "");
}

TEST(HttpOriginTest, CannotListOrWrite) {
  Result<std::unique_ptr<Origin>> o = OpenHttpOrigin("http://127.0.0.1:1/data/");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ((*o)->Scheme(), "http");
  Result<ListPage> page = (*o)->List(ListOptions{});
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(page.status().message().find("cannot be listed"), std::string::npos);
  std::byte b{};
  Result<ObjectInfo> w = (*o)->Write("x", std::span<const std::byte>(&b, 1));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(w.status().message().find("read-only"), std::string::npos);
}

}  // namespace
}  // namespace unicache

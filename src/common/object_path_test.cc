#include "common/object_path.h"

#include <gtest/gtest.h>

#include <string>

namespace unicache {
namespace {

TEST(ValidateObjectPathTest, AcceptsNormalPaths) {
  for (std::string_view ok :
       {"a", "file.bin", "dir/file.bin", "a/b/c/d/e.tar", "with space/x y.txt", ".hidden", "a/.b",
        "a..b", "...", "a/.../b", "x/y~z-_.!$&'()*+,;=:@", "\xc3\xbc/\xc3\xb1.bin",
        "%2e%2e/encoded-but-literal"}) {
    Status s = ValidateObjectPath(ok);
    EXPECT_TRUE(s.ok()) << "'" << ok << "': " << s.ToString();
  }
}

TEST(ValidateObjectPathTest, AcceptsExactlyTheMaximumLength) {
  std::string path(kMaxObjectPathBytes, 'a');
  for (size_t i = 100; i < path.size(); i += 100) path[i] = '/';
  EXPECT_TRUE(ValidateObjectPath(path).ok());
  path.push_back('b');
  Status s = ValidateObjectPath(path);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(ValidateObjectPathTest, RejectsBadPaths) {
  const std::string cases[] = {
      "",
      "/",
      "/a",
      "//a",
      "a/",
      "a//b",
      ".",
      "..",
      "./a",
      "../a",
      "a/.",
      "a/..",
      "a/./b",
      "a/../b",
      "a/b/../../../etc/passwd",
      std::string("a\0b", 3),
      std::string("\0", 1),
      "a\tb",
      "a\nb",
      "a\rb",
      "a\x1f",
      "a\x7f",
      "a\\b",
      "..\\a",
      std::string(kMaxObjectPathBytes + 1, 'a'),
  };
  for (const std::string& bad : cases) {
    Status s = ValidateObjectPath(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "'" << bad << "' size " << bad.size();
  }
}

TEST(ValidatePrefixTest, AcceptsEmptyTrailingSlashAndPartialNames) {
  for (std::string_view ok : {"", "a", "a/", "a/b/", "a/b", "a/fi", ".hidden/", "a..b/"}) {
    Status s = ValidatePrefix(ok);
    EXPECT_TRUE(s.ok()) << "'" << ok << "': " << s.ToString();
  }
}

TEST(ValidatePrefixTest, RejectsBadPrefixes) {
  const std::string cases[] = {
      "/",
      "/a",
      "a//",
      "a//b/",
      "./",
      "../",
      "a/../",
      "a/./",
      ".",
      "..",
      "a/..",
      "a\\b/",
      "a\tb",
      std::string("a\0", 2),
      std::string(kMaxObjectPathBytes + 1, 'a'),
  };
  for (const std::string& bad : cases) {
    Status s = ValidatePrefix(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
}

std::string Decoded(std::string_view text) {
  Result<std::string> r = PercentDecode(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : "<error>";
}

TEST(PercentDecodeTest, DecodesEscapes) {
  EXPECT_EQ(Decoded(""), "");
  EXPECT_EQ(Decoded("plain/path.txt"), "plain/path.txt");
  EXPECT_EQ(Decoded("a%20b"), "a b");
  EXPECT_EQ(Decoded("%2F"), "/");
  EXPECT_EQ(Decoded("%2f%2E"), "/.");
  EXPECT_EQ(Decoded("%41%42%43"), "ABC");
  EXPECT_EQ(Decoded("%C3%BC"), "\xc3\xbc");
  EXPECT_EQ(Decoded("100%25"), "100%");
  EXPECT_EQ(Decoded("%2525"), "%25");  // decoded once only
  EXPECT_EQ(Decoded("a+b"), "a+b");    // '+' is literal in paths
  EXPECT_EQ(Decoded("%ff"), "\xff");
}

TEST(PercentDecodeTest, RejectsMalformedEscapesAndNul) {
  for (std::string_view bad :
       {"%", "%2", "a%", "a%4", "%zz", "%g0", "%0g", "%%", "%-1", "% 1", "%00", "a%00b", "%0"}) {
    Result<std::string> r = PercentDecode(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "' decoded";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(PercentEncodeTest, EncodesReservedBytes) {
  EXPECT_EQ(PercentEncode("a b/c"), "a%20b/c");
  EXPECT_EQ(PercentEncode("a b/c", /*keep_slash=*/false), "a%20b%2Fc");
  EXPECT_EQ(PercentEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(PercentEncode("?#&=+%"), "%3F%23%26%3D%2B%25");
  EXPECT_EQ(PercentEncode("\xc3\xbc"), "%C3%BC");
  EXPECT_EQ(PercentEncode(std::string("\0", 1)), "%00");
  EXPECT_EQ(PercentEncode(""), "");
}

TEST(PercentEncodeTest, RoundTripsEveryNonNulByte) {
  std::string all;
  for (int i = 1; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (bool keep_slash : {true, false}) {
    std::string encoded = PercentEncode(all, keep_slash);
    EXPECT_EQ(encoded.find(' '), std::string::npos);
    EXPECT_EQ(Decoded(encoded), all);
  }
}

}  // namespace
}  // namespace unicache

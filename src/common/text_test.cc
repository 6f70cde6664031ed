#include "common/text.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace unicache {
namespace {

TEST(TextTest, TrimSpaceRemovesSpacesAndTabsOnly) {
  EXPECT_EQ(TrimSpace(" \t a b \t"), "a b");
  EXPECT_EQ(TrimSpace("\r\n"), "\r\n");
  EXPECT_EQ(TrimSpace("   "), "");
}

TEST(TextTest, CaseHelpersTouchAsciiLettersOnly) {
  EXPECT_EQ(AsciiLower("Content-RANGE \xC3\x89"), "content-range \xC3\x89");
  EXPECT_TRUE(EqualsNoCase("Bytes", "bYTES"));
  EXPECT_FALSE(EqualsNoCase("bytes", "byte"));
  EXPECT_FALSE(EqualsNoCase("a[", "A{"));
}

TEST(TextTest, ParseDecimalTakesTheWholeStringInRange) {
  EXPECT_EQ(ParseDecimal<uint64_t>("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseDecimal<int64_t>("-42"), -42);
  EXPECT_EQ(ParseDecimal<uint16_t>("65535"), 65535);
  for (const char* bad : {"", " 1", "1 ", "+1", "-1", "1x", "0x10", "65536"}) {
    EXPECT_FALSE(ParseDecimal<uint16_t>(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace unicache

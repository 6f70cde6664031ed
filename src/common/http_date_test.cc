#include "common/http_date.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

constexpr int64_t kSunday = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(HttpDateTest, FormatsAnImfFixdate) {
  EXPECT_EQ(FormatHttpDate(kSunday), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(kSunday + 999), "Sun, 06 Nov 1994 08:49:37 GMT");  // ms dropped
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(HttpDateTest, ParsesTheThreeFormsRecipientsMustAccept) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), kSunday);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), kSunday);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), kSunday);
  EXPECT_EQ(ParseHttpDate(FormatHttpDate(1700000000123)), 1700000000000);
}

TEST(HttpDateTest, RejectsAnythingElse) {
  for (std::string_view bad :
       {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z",
        "Sun, 06 Nov 1994 08:49:37 GMT junk"}) {
    EXPECT_FALSE(ParseHttpDate(bad)) << bad;
  }
}

}  // namespace
}  // namespace unicache

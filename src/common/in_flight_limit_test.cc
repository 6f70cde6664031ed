#include "common/in_flight_limit.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace unicache {
namespace {

TEST(InFlightLimitTest, CapsEachKeyAndGivesSlotsBack) {
  InFlightLimit limit(2);
  std::optional<InFlightLimit::Slot> a1 = limit.TryAcquire("a");
  std::optional<InFlightLimit::Slot> a2 = limit.TryAcquire("a");
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(limit.TryAcquire("a").has_value());  // "a" is at its cap
  EXPECT_TRUE(limit.TryAcquire("b").has_value());   // other keys are not
  a1.reset();
  EXPECT_TRUE(limit.TryAcquire("a").has_value());  // a slot came back
}

TEST(InFlightLimitTest, AMovedSlotIsGivenBackOnce) {
  InFlightLimit limit(1);
  std::vector<InFlightLimit::Slot> held;
  held.push_back(*limit.TryAcquire("a"));  // moved twice on the way
  EXPECT_FALSE(limit.TryAcquire("a").has_value());
  held.clear();
  EXPECT_TRUE(limit.TryAcquire("a").has_value());
  EXPECT_TRUE(limit.TryAcquire("a").has_value());  // the one above was dropped at once
}

}  // namespace
}  // namespace unicache

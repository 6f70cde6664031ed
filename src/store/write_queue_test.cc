#include "store/write_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/store_test_util.h"

namespace unicache {
namespace {

using testing::TestBlock;
using testing::TestKey;

TEST(WriteQueueTest, PopsInFifoOrderAndKeepsBlocksFindableUntilDone) {
  WriteQueue q(10, 1 << 20);
  EXPECT_EQ(q.Push(TestKey(1), TestBlock(10, 1)), WriteQueue::PushResult::kQueued);
  EXPECT_EQ(q.Push(TestKey(2), TestBlock(10, 2)), WriteQueue::PushResult::kQueued);
  EXPECT_EQ(q.Push(TestKey(1), TestBlock(10, 1)), WriteQueue::PushResult::kAlreadyQueued);
  auto a = q.Pop();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->key, TestKey(1));
  EXPECT_NE(q.Find(TestKey(1)), nullptr);  // in flight, still readable
  EXPECT_TRUE(q.Done(*a));
  EXPECT_EQ(q.Find(TestKey(1)), nullptr);
  EXPECT_EQ(q.size(), 1u);
}

TEST(WriteQueueTest, RefusesWhenFullAndCountsDrops) {
  WriteQueue q(2, 1 << 20);
  EXPECT_EQ(q.Push(TestKey(1), TestBlock(10, 1)), WriteQueue::PushResult::kQueued);
  EXPECT_EQ(q.Push(TestKey(2), TestBlock(10, 2)), WriteQueue::PushResult::kQueued);
  EXPECT_EQ(q.Push(TestKey(3), TestBlock(10, 3)), WriteQueue::PushResult::kFull);
  WriteQueue bytes(100, 25);
  EXPECT_EQ(bytes.Push(TestKey(1), TestBlock(20, 1)), WriteQueue::PushResult::kQueued);
  EXPECT_EQ(bytes.Push(TestKey(2), TestBlock(20, 2)), WriteQueue::PushResult::kFull);
  EXPECT_EQ(q.dropped(), 1u);
  EXPECT_EQ(bytes.dropped(), 1u);
}

TEST(WriteQueueTest, AcceptsOneOversizedBlockWhenEmpty) {
  WriteQueue q(10, 100);
  EXPECT_EQ(q.Push(TestKey(1), TestBlock(1000, 1)), WriteQueue::PushResult::kQueued);
  EXPECT_EQ(q.Push(TestKey(2), TestBlock(1, 2)), WriteQueue::PushResult::kFull);
}

TEST(WriteQueueTest, CancelledWritesAreSkippedOrReportedStale) {
  WriteQueue q(10, 1 << 20);
  q.Push(TestKey(1), TestBlock(10, 1));
  q.Push(TestKey(2), TestBlock(10, 2));
  q.Cancel(TestKey(1));  // before Pop: skipped
  auto item = q.Pop();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->key, TestKey(2));
  q.Cancel(TestKey(2));  // in flight: Done() reports it stale
  EXPECT_FALSE(q.Done(*item));
  EXPECT_EQ(q.size(), 0u);
}

TEST(WriteQueueTest, FlushWaitsForEarlierWritesAndStopDrains) {
  WriteQueue q(100, 1 << 20);
  std::atomic<int> written{0};
  std::thread consumer([&] {
    while (auto item = q.Pop()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++written;
      q.Done(*item);
    }
  });
  for (int i = 0; i < 20; ++i) q.Push(TestKey(i), TestBlock(10, i));
  q.Flush();
  EXPECT_EQ(written.load(), 20);
  for (int i = 20; i < 30; ++i) q.Push(TestKey(i), TestBlock(10, i));
  q.Stop();
  consumer.join();
  EXPECT_EQ(written.load(), 30);
}

TEST(WriteQueueTest, FlushOnEmptyQueueReturns) {
  WriteQueue q(1, 1);
  q.Flush();
  SUCCEED();
}

}  // namespace
}  // namespace unicache

#include "common/fork_safe_mutex.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace unicache {
namespace {

// A thread takes and releases the mutex as fast as it can while the main thread forks: every
// child must be able to lock it (a plain std::mutex would be inherited locked now and then).
TEST(ForkSafeMutexTest, AChildNeverInheritsItHeld) {
  ForkSafeMutex mu;
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop.load()) {
      std::lock_guard lock(mu);
    }
  });
  for (int i = 0; i < 200; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(10);  // a hang is a failure, not a stuck test binary
      mu.lock();
      mu.unlock();
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "fork " << i;
  }
  stop.store(true);
  busy.join();
  // The parent's mutex still works.
  std::lock_guard lock(mu);
}

}  // namespace
}  // namespace unicache

// ForkSafeMutex: a std::mutex that no process inherits locked from a thread it does not have.
//
// fork() copies only the calling thread. A mutex that another thread held at that instant stays
// locked forever in the child, and the child's first call that needs it hangs. Every live
// ForkSafeMutex is registered; a pthread_atfork handler locks them all in the forking thread just
// before the fork and unlocks them after it, in the parent and in the child. So at the instant of
// the fork none is held by another thread.
//
// REQUIRES: a ForkSafeMutex is a leaf: no code holding one waits for another (the handler takes
// them all, in registration order). Thread-safe, as std::mutex.
#pragma once

#include <mutex>

namespace unicache {

class ForkSafeMutex : public std::mutex {
 public:
  ForkSafeMutex();
  ~ForkSafeMutex();
  ForkSafeMutex(const ForkSafeMutex&) = delete;
  ForkSafeMutex& operator=(const ForkSafeMutex&) = delete;
};

}  // namespace unicache

#include "common/fork_safe_mutex.h"

#include <pthread.h>

#include <algorithm>
#include <vector>

namespace unicache {
namespace {

// The live ForkSafeMutexes. Never destroyed: mutexes in static objects may outlive any
// destructor order at exit.
struct Registry {
  std::mutex mu;  // held from prepare to parent/child: no mutex joins or leaves meanwhile
  std::vector<ForkSafeMutex*> mutexes;
};

Registry& TheRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry;
    pthread_atfork(
        [] {
          Registry& reg = TheRegistry();
          reg.mu.lock();
          for (ForkSafeMutex* m : reg.mutexes) m->lock();
        },
        [] {
          Registry& reg = TheRegistry();
          for (ForkSafeMutex* m : reg.mutexes) m->unlock();
          reg.mu.unlock();
        },
        [] {
          // The forking thread holds every lock here too; it is the child's only thread.
          Registry& reg = TheRegistry();
          for (ForkSafeMutex* m : reg.mutexes) m->unlock();
          reg.mu.unlock();
        });
    return r;
  }();
  return *registry;
}

}  // namespace

ForkSafeMutex::ForkSafeMutex() {
  Registry& reg = TheRegistry();
  std::lock_guard lock(reg.mu);
  reg.mutexes.push_back(this);
}

ForkSafeMutex::~ForkSafeMutex() {
  Registry& reg = TheRegistry();
  std::lock_guard lock(reg.mu);
  reg.mutexes.erase(std::find(reg.mutexes.begin(), reg.mutexes.end(), this));
}

}  // namespace unicache

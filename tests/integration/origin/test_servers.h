// Starting and stopping the real servers the origin integration tests use (Azurite, s3rver).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace unicache::testing {

// Returns a TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Waits until something accepts TCP connections on 127.0.0.1:`port`; false after `timeout_ms`.
bool WaitForPort(int port, int timeout_ms);

// A child process in its own process group, stopped on destruction. Not thread-safe.
class ServerProcess {
 public:
  // Starts `argv` with extra environment `env` ("K=V"), output to `log_path`.
  ServerProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                const std::string& log_path);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // Sends SIGTERM (twice: Azurite exits promptly only on the second), then SIGKILL if needed.
  void Stop();

 private:
  pid_t pid_ = -1;
};

// Returns a fresh temporary directory.
std::string MakeTempDir(const std::string& tag);

// Runs a shell command; returns its exit status.
int Run(const std::string& command);

}  // namespace unicache::testing

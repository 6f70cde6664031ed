// Progress reporting for long CLI work: a redrawn bar on a terminal, plain lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace unicache::cli {

// Silences every Progress of this process (`unicache -q`): results and errors still print.
void SetQuietProgress(bool quiet);

// Not thread-safe: one owner updates it.
class Progress {
 public:
  // `total` in `unit`s (bytes when unit is "B"); 0 when unknown.
  Progress(std::string label, uint64_t total);
  ~Progress();

  // Sets how much is done; redraws at most ~10 times a second (a line per 10% off a TTY).
  void Update(uint64_t done);
  // Prints the final state and a newline.
  void Done();

 private:
  void Draw(bool final);

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool tty_;
  bool quiet_;
  bool finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace unicache::cli

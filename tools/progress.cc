#include "progress.h"

#include <unistd.h>

#include <cstdio>

#include "common/units.h"

namespace unicache::cli {
namespace {

bool quiet_progress = false;

}  // namespace

void SetQuietProgress(bool quiet) { quiet_progress = quiet; }

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) == 1),
      quiet_(quiet_progress),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (!finished_ && tty_ && !quiet_) std::fputc('\n', stderr);
}

void Progress::Update(uint64_t done) {
  done_ = done;
  if (quiet_) return;
  auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    Draw(false);
  } else if (total_ > 0) {
    int decile = static_cast<int>(done_ * 10 / total_);
    if (decile != last_decile_ && decile < 10) {
      last_decile_ = decile;
      Draw(false);
    }
  }
}

void Progress::Done() {
  if (finished_) return;
  finished_ = true;
  if (quiet_) return;
  Draw(true);
}

void Progress::Draw(bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  std::string speed = FormatSize(static_cast<uint64_t>(rate)) + "/s";
  if (tty_) {
    constexpr int kWidth = 30;
    int filled = total_ ? static_cast<int>(done_ * kWidth / total_) : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %s / %s  %s   ", label_.c_str(), bar.c_str(),
                 FormatSize(done_).c_str(), FormatSize(total_).c_str(), speed.c_str());
    if (final) std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "%s: %s / %s (%s)%s\n", label_.c_str(), FormatSize(done_).c_str(),
                 FormatSize(total_).c_str(), speed.c_str(), final ? " done" : "");
  }
  std::fflush(stderr);
}

}  // namespace unicache::cli

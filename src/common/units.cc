#include "common/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "common/text.h"

namespace unicache {
namespace {

// Splits "12.5GiB" into 12.5 and "gib". Returns false when no number leads the text.
bool SplitNumber(std::string_view text, double* number, std::string* unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  std::string num(text.substr(0, i));
  if (num.find('.') != num.rfind('.')) return false;
  char* end = nullptr;
  *number = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size()) return false;
  std::string_view rest = text.substr(i);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  *unit = AsciiLower(rest);
  return true;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  double number = 0;
  std::string unit;
  if (!SplitNumber(text, &number, &unit)) {
    return InvalidArgument("bad size '" + std::string(text) +
                           "': expected e.g. 4096, 512MiB, 4GiB");
  }
  double mult = 0;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kib")
    mult = 1024.0;
  else if (unit == "m" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tib")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "kb")
    mult = 1e3;
  else if (unit == "mb")
    mult = 1e6;
  else if (unit == "gb")
    mult = 1e9;
  else if (unit == "tb")
    mult = 1e12;
  else {
    return InvalidArgument("bad size unit in '" + std::string(text) +
                           "': use B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)");
  }
  double bytes = std::floor(number * mult);
  if (!(bytes < 1.8e19)) return InvalidArgument("size too large: '" + std::string(text) + "'");
  return static_cast<uint64_t>(bytes);
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  std::string lower = AsciiLower(text);
  if (lower == "forever" || lower == "inf" || lower == "infinite") {
    return std::chrono::milliseconds::max();
  }
  double number = 0;
  std::string unit;
  if (!SplitNumber(text, &number, &unit)) {
    return InvalidArgument("bad duration '" + std::string(text) +
                           "': expected e.g. 250ms, 10s, 5m");
  }
  double ms = 0;
  if (unit == "ms")
    ms = number;
  else if (unit.empty() || unit == "s")
    ms = number * 1e3;
  else if (unit == "m" || unit == "min")
    ms = number * 60e3;
  else if (unit == "h")
    ms = number * 3600e3;
  else {
    return InvalidArgument("bad duration unit in '" + std::string(text) + "': use ms, s, m or h");
  }
  if (!(ms < 9e15)) return InvalidArgument("duration too large: '" + std::string(text) + "'");
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::string FormatSize(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

}  // namespace unicache

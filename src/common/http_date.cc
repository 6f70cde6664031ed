#include "common/http_date.h"

#include <array>
#include <cstdio>
#include <ctime>

#include "common/text.h"

namespace unicache {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Reads `digits` decimal digits (a leading space counts as a zero where `space_ok`).
bool Number(std::string_view s, size_t pos, size_t digits, int* out, bool space_ok = false) {
  if (pos + digits > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = s[pos + i];
    if (c == ' ' && space_ok && i == 0) continue;
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

int Month(std::string_view name) {
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// Reads "HH:MM:SS" at `pos`.
bool Clock(std::string_view s, size_t pos, std::tm* tm) {
  return pos + 8 <= s.size() && s[pos + 2] == ':' && s[pos + 5] == ':' &&
         Number(s, pos, 2, &tm->tm_hour) && Number(s, pos + 3, 2, &tm->tm_min) &&
         Number(s, pos + 6, 2, &tm->tm_sec) && tm->tm_hour < 24 && tm->tm_min < 60 &&
         tm->tm_sec < 61;
}

std::optional<int64_t> ToMs(std::tm tm) {
  if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace

std::string FormatHttpDate(int64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday].data(),
                tm.tm_mday, kMonths[tm.tm_mon].data(), tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<int64_t> ParseHttpDate(std::string_view s) {
  std::tm tm{};
  int year = 0;
  if (s.size() == 29 && s[3] == ',' && s.substr(25) == " GMT") {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    tm.tm_mon = Month(s.substr(8, 3));
    if (s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        !Number(s, 5, 2, &tm.tm_mday) || !Number(s, 12, 4, &year) || !Clock(s, 17, &tm)) {
      return std::nullopt;
    }
    tm.tm_year = year - 1900;
    return ToMs(tm);
  }
  if (size_t comma = s.find(", "); comma != std::string_view::npos && comma >= 6 &&
                                   s.size() == comma + 24 && s.ends_with(" GMT")) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years within 50 years of now.
    std::string_view d = s.substr(comma + 2);
    tm.tm_mon = Month(d.substr(3, 3));
    if (d[2] != '-' || d[6] != '-' || d[9] != ' ' || !Number(d, 0, 2, &tm.tm_mday) ||
        !Number(d, 7, 2, &year) || !Clock(d, 10, &tm)) {
      return std::nullopt;
    }
    std::time_t now = std::time(nullptr);
    std::tm now_tm{};
    gmtime_r(&now, &now_tm);
    int century = (now_tm.tm_year + 1900) / 100 * 100;
    year += century;
    if (year > now_tm.tm_year + 1900 + 50) year -= 100;
    tm.tm_year = year - 1900;
    return ToMs(tm);
  }
  if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') {
    // asctime: "Sun Nov  6 08:49:37 1994"
    tm.tm_mon = Month(s.substr(4, 3));
    if (!Number(s, 8, 2, &tm.tm_mday, true) || !Clock(s, 11, &tm) || !Number(s, 20, 4, &year)) {
      return std::nullopt;
    }
    tm.tm_year = year - 1900;
    return ToMs(tm);
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value) {
  value = TrimSpace(value);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    std::optional<int64_t> secs = ParseDecimal<int64_t>(value);
    if (!secs || *secs > INT64_MAX / 1000) return std::nullopt;
    return std::chrono::milliseconds(*secs * 1000);
  }
  // An HTTP date: how long from now.
  std::optional<int64_t> when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return std::chrono::milliseconds(*when > now ? *when - now : 0);
}

}  // namespace unicache

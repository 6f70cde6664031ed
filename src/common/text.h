// Text helpers the parsers share: trimming, ASCII case, whole-string decimal numbers.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace unicache {

// Returns `s` without leading and trailing spaces and tabs (HTTP's optional white space).
std::string_view TrimSpace(std::string_view s);

// Returns `s` with ASCII letters lowered.
std::string AsciiLower(std::string_view s);

// Returns whether `a` and `b` are equal ignoring ASCII case.
bool EqualsNoCase(std::string_view a, std::string_view b);

// Parses `s` as a decimal number: the whole string, digits only (a leading '-' for signed
// types), within T's range. std::nullopt otherwise (empty, a sign on unsigned, '+', spaces,
// overflow).
template <typename T>
requires std::is_integral_v<T> std::optional<T> ParseDecimal(std::string_view s) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace unicache

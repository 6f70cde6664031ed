#include "common/object_path.h"

namespace unicache {
namespace {

Status CheckSegments(std::string_view path, bool allow_trailing_slash) {
  if (path.size() > kMaxObjectPathBytes) return InvalidArgument("path longer than 4096 bytes");
  if (!path.empty() && path.front() == '/')
    return InvalidArgument("path must be relative (no leading '/')");
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u == 0) return InvalidArgument("path contains a NUL byte");
    if (u < 0x20 || u == 0x7f) return InvalidArgument("path contains a control character");
    if (c == '\\') return InvalidArgument("path contains a backslash");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    bool last = end == path.size();
    if (seg.empty() && !(last && allow_trailing_slash)) {
      if (!(last && path.empty())) return InvalidArgument("path has an empty segment ('//')");
    }
    if (seg == "." || seg == "..") return InvalidArgument("path has a '.' or '..' segment");
    start = end + 1;
  }
  return Status::Ok();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Status ValidateObjectPath(std::string_view path) {
  if (path.empty()) return InvalidArgument("empty object path");
  if (path.back() == '/') return InvalidArgument("object path ends with '/'");
  return CheckSegments(path, false);
}

Status ValidatePrefix(std::string_view prefix) {
  if (prefix.empty()) return Status::Ok();
  return CheckSegments(prefix, true);
}

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return InvalidArgument("truncated %-escape in URL");
    int a = HexValue(text[i + 1]);
    int b = HexValue(text[i + 2]);
    if (a < 0 || b < 0) return InvalidArgument("malformed %-escape in URL");
    char c = static_cast<char>((a << 4) | b);
    if (c == '\0') return InvalidArgument("URL contains an encoded NUL byte");
    out.push_back(c);
    i += 2;
  }
  return out;
}

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

}  // namespace unicache

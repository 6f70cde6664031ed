#include "server/http/request_target.h"

#include "common/object_path.h"

namespace unicache {

std::string RequestTarget::Param(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

Result<RequestTarget> ParseRequestTarget(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return InvalidArgument("request target must start with '/'");
  }
  RequestTarget out;
  size_t q = target.find('?');
  ASSIGN_OR_RETURN(out.path, PercentDecode(target.substr(0, q)));
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key_raw(pair.substr(0, eq));
    std::string value_raw(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    for (char& c : value_raw) {
      if (c == '+') c = ' ';
    }
    ASSIGN_OR_RETURN(std::string key, PercentDecode(key_raw));
    ASSIGN_OR_RETURN(std::string value, PercentDecode(value_raw));
    out.query[key] = value;
  }
  return out;
}

}  // namespace unicache

#include "fuse/path_map.h"

#include "common/object_path.h"

namespace unicache::fuse {

Result<MountTarget> ParseMountTarget(std::string_view text) {
  size_t slash = text.find('/');
  MountTarget t;
  t.origin = std::string(text.substr(0, slash));
  if (t.origin.empty())
    return InvalidArgument("expected ORIGIN[/PREFIX], got '" + std::string(text) + "'");
  if (slash == std::string_view::npos) return t;
  std::string prefix(text.substr(slash + 1));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (prefix.empty()) return t;
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  t.root_key = prefix + "/";
  return t;
}

Status ValidateName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") {
    return InvalidArgument("bad file name '" + std::string(name) + "'");
  }
  if (name.size() > 255) return InvalidArgument("file name longer than 255 bytes");
  for (char c : name) {
    if (c == '/' || c == '\0' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return InvalidArgument("file name with a '/', '\\' or control byte");
    }
  }
  return Status::Ok();
}

std::string ChildKey(std::string_view dir_key, std::string_view name, bool is_dir) {
  std::string key;
  key.reserve(dir_key.size() + name.size() + 1);
  key.append(dir_key);
  key.append(name);
  if (is_dir) key.push_back('/');
  return key;
}

std::string NameBelow(std::string_view dir_key, std::string_view path) {
  if (path.size() <= dir_key.size() || path.substr(0, dir_key.size()) != dir_key) return "";
  std::string_view rest = path.substr(dir_key.size());
  if (rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return "";
  if (!ValidateName(rest).ok()) return "";
  return std::string(rest);
}

std::string ParentKey(std::string_view key) {
  if (!key.empty() && key.back() == '/') key.remove_suffix(1);
  size_t slash = key.rfind('/');
  if (slash == std::string_view::npos) return "";
  return std::string(key.substr(0, slash + 1));
}

}  // namespace unicache::fuse

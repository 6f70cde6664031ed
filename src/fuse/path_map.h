// Mapping between the mounted tree and object keys. The mount shows ORIGIN[/PREFIX]; every node
// of the tree has a key relative to the origin root: files "dir/a.bin", directories "dir/sub/"
// (always with a trailing '/'), the mount root PREFIX + "/" (or "" for the whole origin).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace unicache::fuse {

// What `unicache mount ORIGIN[/PREFIX]` names.
struct MountTarget {
  std::string origin;
  std::string root_key;  // "" or "some/prefix/"
};

// Parses "ORIGIN[/PREFIX]" (a trailing '/' on PREFIX is optional). InvalidArgument when the
// origin is empty or the prefix is not a valid object prefix.
Result<MountTarget> ParseMountTarget(std::string_view text);

// Checks that `name` can be one path component: non-empty, not "." or "..", no '/' or NUL,
// at most 255 bytes. Returns InvalidArgument otherwise.
Status ValidateName(std::string_view name);

// Returns the key of child `name` of the directory with key `dir_key`.
// REQUIRES: dir_key is "" or ends with '/'; ValidateName(name) is ok.
std::string ChildKey(std::string_view dir_key, std::string_view name, bool is_dir);

// Returns the component name of a listing path below `dir_key` ("a/b/c.bin" below "a/b/" is
// "c.bin", "a/b/sub/" is "sub"), or "" when the path is not a direct child (e.g. the directory
// marker object "a/b/" itself).
std::string NameBelow(std::string_view dir_key, std::string_view path);

// Returns the directory key that contains `key` ("a/b/c" -> "a/b/", "a/b/" -> "a/", "a" -> "").
std::string ParentKey(std::string_view key);

}  // namespace unicache::fuse

// PosixOrigin: a local directory as an origin (the embedded default).
#pragma once

#include <memory>
#include <string>

#include "origin/origin.h"

namespace unicache {

// Opens the directory `root` (must exist). Every access stays beneath the root: paths are
// resolved with openat2(RESOLVE_BENEATH), so symlinks that escape the root fail with
// PermissionDenied. An object's version is derived from size, mtime, ctime and inode.
Result<std::unique_ptr<Origin>> OpenPosixOrigin(const std::string& root);

}  // namespace unicache

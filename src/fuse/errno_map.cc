#include "fuse/errno_map.h"

#include <cerrno>

namespace unicache::fuse {

int ErrnoFromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kPermissionDenied:
      return EACCES;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return EINVAL;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    case StatusCode::kResourceExhausted:
      return ENOSPC;
    case StatusCode::kPreconditionFailed:
      return ESTALE;
    case StatusCode::kUnimplemented:
      return ENOTSUP;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kChecksumMismatch:
    case StatusCode::kInternal:
      return EIO;
  }
  return EIO;
}

}  // namespace unicache::fuse

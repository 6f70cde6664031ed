// Maps unicache Status codes to the errno values a FUSE reply carries.
#pragma once

#include "common/status.h"

namespace unicache::fuse {

// Returns the positive errno for a non-ok `status`:
//   NotFound -> ENOENT, PermissionDenied -> EACCES, InvalidArgument -> EINVAL,
//   AlreadyExists -> EEXIST, OutOfRange -> EINVAL, ResourceExhausted -> ENOSPC,
//   PreconditionFailed -> ESTALE (the object changed under an open file; reopen to see the new
//   version), Unimplemented -> ENOTSUP, and Unavailable / DeadlineExceeded (the client already
//   retried every owner and the origin until its timeout) / ChecksumMismatch / Internal -> EIO.
// Returns 0 for an ok status.
int ErrnoFromStatus(const Status& status);

}  // namespace unicache::fuse

#include "fuse/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace unicache::fuse {
namespace {

TEST(ErrnoMapTest, MapsEveryCode) {
  EXPECT_EQ(ErrnoFromStatus(Status::Ok()), 0);
  EXPECT_EQ(ErrnoFromStatus(NotFound("x")), ENOENT);
  EXPECT_EQ(ErrnoFromStatus(PermissionDenied("x")), EACCES);
  EXPECT_EQ(ErrnoFromStatus(InvalidArgument("x")), EINVAL);
  EXPECT_EQ(ErrnoFromStatus(AlreadyExists("x")), EEXIST);
  EXPECT_EQ(ErrnoFromStatus(PreconditionFailed("x")), ESTALE);
  EXPECT_EQ(ErrnoFromStatus(ResourceExhausted("x")), ENOSPC);
  EXPECT_EQ(ErrnoFromStatus(Unavailable("x")), EIO);
  EXPECT_EQ(ErrnoFromStatus(DeadlineExceeded("x")), EIO);
  EXPECT_EQ(ErrnoFromStatus(ChecksumMismatch("x")), EIO);
  EXPECT_EQ(ErrnoFromStatus(Internal("x")), EIO);
  EXPECT_EQ(ErrnoFromStatus(Unimplemented("x")), ENOTSUP);
}

}  // namespace
}  // namespace unicache::fuse

#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace unicache {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    std::string name;
  };
  const Case cases[] = {
      {InvalidArgument("m"), StatusCode::kInvalidArgument, "invalid_argument"},
      {NotFound("m"), StatusCode::kNotFound, "not_found"},
      {AlreadyExists("m"), StatusCode::kAlreadyExists, "already_exists"},
      {PermissionDenied("m"), StatusCode::kPermissionDenied, "permission_denied"},
      {OutOfRange("m"), StatusCode::kOutOfRange, "out_of_range"},
      {PreconditionFailed("m"), StatusCode::kPreconditionFailed, "precondition_failed"},
      {ResourceExhausted("m"), StatusCode::kResourceExhausted, "resource_exhausted"},
      {Unavailable("m"), StatusCode::kUnavailable, "unavailable"},
      {DeadlineExceeded("m"), StatusCode::kDeadlineExceeded, "deadline_exceeded"},
      {ChecksumMismatch("m"), StatusCode::kChecksumMismatch, "checksum_mismatch"},
      {Unimplemented("m"), StatusCode::kUnimplemented, "unimplemented"},
      {Internal("m"), StatusCode::kInternal, "internal"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), c.name + ": m");
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "ok");
}

TEST(StatusTest, OnlyUnavailableAndDeadlineExceededAreRetryable) {
  EXPECT_TRUE(Unavailable("x").retryable());
  EXPECT_TRUE(DeadlineExceeded("x").retryable());
  EXPECT_FALSE(Status::Ok().retryable());
  EXPECT_FALSE(NotFound("x").retryable());
  EXPECT_FALSE(InvalidArgument("x").retryable());
  EXPECT_FALSE(ResourceExhausted("x").retryable());
  EXPECT_FALSE(PreconditionFailed("x").retryable());
  EXPECT_FALSE(Internal("x").retryable());
}

TEST(StatusTest, WithContextPrependsAndKeepsCode) {
  Status s = NotFound("no such object").WithContext("origin 'a'");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "origin 'a': no such object");
  Status twice = s.WithContext("get");
  EXPECT_EQ(twice.message(), "get: origin 'a': no such object");
  EXPECT_EQ(twice.ToString(), "not_found: get: origin 'a': no such object");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::Ok().WithContext("ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, ErrnoStatusMapsCodes) {
  struct Case {
    int err;
    StatusCode code;
  };
  const Case cases[] = {
      {ENOENT, StatusCode::kNotFound},          {ENOTDIR, StatusCode::kNotFound},
      {EACCES, StatusCode::kPermissionDenied},  {EPERM, StatusCode::kPermissionDenied},
      {ELOOP, StatusCode::kPermissionDenied},   {EEXIST, StatusCode::kAlreadyExists},
      {EINVAL, StatusCode::kInvalidArgument},   {ENAMETOOLONG, StatusCode::kInvalidArgument},
      {EISDIR, StatusCode::kInvalidArgument},   {ENOSPC, StatusCode::kResourceExhausted},
      {EMFILE, StatusCode::kResourceExhausted}, {ENFILE, StatusCode::kResourceExhausted},
      {ENOMEM, StatusCode::kResourceExhausted}, {EAGAIN, StatusCode::kUnavailable},
      {EINTR, StatusCode::kUnavailable},        {EIO, StatusCode::kUnavailable},
      {ECONNREFUSED, StatusCode::kUnavailable}, {ECONNRESET, StatusCode::kUnavailable},
      {EPIPE, StatusCode::kUnavailable},        {ETIMEDOUT, StatusCode::kDeadlineExceeded},
      {EXDEV, StatusCode::kInternal},           {EBADF, StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.err);
    Status s = ErrnoStatus("open x", c.err);
    EXPECT_EQ(s.code(), c.code);
  }
}

TEST(StatusTest, ErrnoStatusMessageHasWhatAndStrerror) {
  Status s = ErrnoStatus("open /data/x", ENOENT);
  EXPECT_EQ(s.message(), std::string("open /data/x: ") + std::strerror(ENOENT));
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value(), 42);
  EXPECT_TRUE(r.status().ok());
}

TEST(ResultTest, HoldsError) {
  Result<int> r = NotFound("gone");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "gone");
}

TEST(ResultTest, MoveOnlyValueAndArrow) {
  Result<std::unique_ptr<std::string>> r = std::make_unique<std::string>("abc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 3u);
  std::unique_ptr<std::string> owned = std::move(r).value();
  EXPECT_EQ(*owned, "abc");

  Result<std::string> s = std::string("hello");
  EXPECT_EQ(s->size(), 5u);
}

// Helpers exercising the macros: each records how far it got.
Status Fails() { return Unavailable("down"); }
Status Succeeds() { return Status::Ok(); }
Result<int> Number(bool ok) {
  if (!ok) return InvalidArgument("no number");
  return 7;
}

Status UseReturnIfError(bool fail, int* reached) {
  *reached = 1;
  RETURN_IF_ERROR(Succeeds());
  *reached = 2;
  if (fail) RETURN_IF_ERROR(Fails());
  *reached = 3;
  return Status::Ok();
}

Result<int> UseAssignOrReturn(bool ok, int* reached) {
  *reached = 1;
  ASSIGN_OR_RETURN(int n, Number(ok));
  *reached = 2;
  ASSIGN_OR_RETURN(int m, Number(true));  // a second use in one scope must compile
  return n * 10 + m;
}

TEST(MacroTest, ReturnIfErrorPassesOkThrough) {
  int reached = 0;
  EXPECT_TRUE(UseReturnIfError(false, &reached).ok());
  EXPECT_EQ(reached, 3);
}

TEST(MacroTest, ReturnIfErrorReturnsTheError) {
  int reached = 0;
  Status s = UseReturnIfError(true, &reached);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "down");
  EXPECT_EQ(reached, 2);
}

TEST(MacroTest, AssignOrReturnAssignsValue) {
  int reached = 0;
  Result<int> r = UseAssignOrReturn(true, &reached);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 77);
  EXPECT_EQ(reached, 2);
}

TEST(MacroTest, AssignOrReturnReturnsTheError) {
  int reached = 0;
  Result<int> r = UseAssignOrReturn(false, &reached);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "no number");
  EXPECT_EQ(reached, 1);
}

TEST(MacroTest, AssignOrReturnIntoExistingVariable) {
  auto f = [](bool ok) -> Status {
    std::string out = "unchanged";
    auto get = [&]() -> Result<std::string> {
      if (!ok) return NotFound("x");
      return std::string("assigned");
    };
    ASSIGN_OR_RETURN(out, get());
    return out == "assigned" ? Status::Ok() : Internal(out);
  };
  EXPECT_TRUE(f(true).ok());
  EXPECT_EQ(f(false).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace unicache

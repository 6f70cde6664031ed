#include "common/status_http.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

HttpResponse AnswerFor(const Status& s) {
  HttpResponse r;
  r.status = HttpStatusFor(s);
  r.body = ErrorBody(s);
  return r;
}

TEST(StatusHttpTest, MapsEveryCodeAndDetail) {
  EXPECT_EQ(HttpStatusFor(Status::Ok()), 200);
  EXPECT_EQ(HttpStatusFor(InvalidArgument("")), 400);
  EXPECT_EQ(HttpStatusFor(NotFound("")), 404);
  EXPECT_EQ(HttpStatusFor(AlreadyExists("")), 409);
  EXPECT_EQ(HttpStatusFor(PermissionDenied("")), 403);
  EXPECT_EQ(HttpStatusFor(OutOfRange("")), 416);
  EXPECT_EQ(HttpStatusFor(PreconditionFailed("")), 412);
  EXPECT_EQ(HttpStatusFor(ResourceExhausted("")), 503);
  EXPECT_EQ(HttpStatusFor(ResourceExhausted("").WithDetail(StatusDetail::kOverloaded)), 503);
  EXPECT_EQ(HttpStatusFor(ResourceExhausted("").WithDetail(StatusDetail::kQuotaExceeded)), 507);
  EXPECT_EQ(HttpStatusFor(Unavailable("")), 502);
  EXPECT_EQ(HttpStatusFor(DeadlineExceeded("")), 504);
  EXPECT_EQ(HttpStatusFor(ChecksumMismatch("")), 502);
  EXPECT_EQ(HttpStatusFor(Unimplemented("")), 501);
  EXPECT_EQ(HttpStatusFor(Internal("")), 500);
}

TEST(StatusHttpTest, AnAnswerGivesBackTheStatusItCarried) {
  for (const Status& sent :
       {InvalidArgument("bad"), NotFound("gone"), AlreadyExists("x"), PermissionDenied("no"),
        OutOfRange("past"), PreconditionFailed("changed"), ResourceExhausted("mem"),
        ResourceExhausted("full").WithDetail(StatusDetail::kQuotaExceeded),
        ResourceExhausted("busy").WithDetail(StatusDetail::kOverloaded), Unavailable("down"),
        DeadlineExceeded("slow"), ChecksumMismatch("rot"), Unimplemented("nope"),
        Internal("bug")}) {
    Status got = StatusFromAnswer(AnswerFor(sent), "GET d/f");
    EXPECT_EQ(got.code(), sent.code()) << sent.ToString();
    EXPECT_EQ(got.detail(), sent.detail()) << sent.ToString();
    EXPECT_EQ(got.message(),
              "GET d/f: HTTP " + std::to_string(HttpStatusFor(sent)) + ": " + sent.message());
    EXPECT_EQ(got.retryable(), sent.retryable()) << sent.ToString();
  }
  EXPECT_TRUE(ResourceExhausted("").WithDetail(StatusDetail::kOverloaded).retryable());
  EXPECT_FALSE(ResourceExhausted("").WithDetail(StatusDetail::kQuotaExceeded).retryable());
}

TEST(StatusHttpTest, RetryAfterRidesAlong) {
  HttpResponse r = AnswerFor(ResourceExhausted("busy").WithDetail(StatusDetail::kOverloaded));
  r.headers["retry-after"] = "3";
  Status got = StatusFromAnswer(r, "x");
  ASSERT_TRUE(got.retry_after().has_value());
  EXPECT_EQ(*got.retry_after(), std::chrono::seconds(3));
  r.headers["retry-after"] = "soon";
  EXPECT_FALSE(StatusFromAnswer(r, "x").retry_after().has_value());
}

TEST(StatusHttpTest, AnswersWithoutAnErrorBodyFallBackToTheHttpStatus) {
  auto from = [](int status, std::string body = "") {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return StatusFromAnswer(r, "x");
  };
  EXPECT_EQ(from(404).code(), StatusCode::kNotFound);
  EXPECT_EQ(from(405).code(), StatusCode::kUnimplemented);
  EXPECT_EQ(from(413).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(from(429).code(), StatusCode::kUnavailable);
  EXPECT_EQ(from(502, "<html>Bad Gateway</html>").code(), StatusCode::kUnavailable);
  EXPECT_EQ(from(504).code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(from(507).detail(), StatusDetail::kQuotaExceeded);
  EXPECT_EQ(from(418).code(), StatusCode::kInvalidArgument);
  // A code this version does not know, or none: the HTTP status decides.
  EXPECT_EQ(from(503, R"({"error":"x","code":"brand_new"})").code(), StatusCode::kUnavailable);
  EXPECT_EQ(from(412, R"({"error":"x","code":"ok"})").code(), StatusCode::kPreconditionFailed);
  // A HEAD answer's reason comes in a header.
  HttpResponse head;
  head.status = 404;
  head.headers["x-unicache-error"] = "no such object";
  EXPECT_EQ(StatusFromAnswer(head, "HEAD d/f").message(), "HEAD d/f: HTTP 404: no such object");
}

}  // namespace
}  // namespace unicache

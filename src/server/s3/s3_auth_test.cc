#include "server/s3/s3_auth.h"

#include <gtest/gtest.h>

#include "server/s3/s3_xml.h"

namespace unicache {
namespace {

namespace http = boost::beast::http;

constexpr char kExampleAuth[] =
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

std::chrono::system_clock::time_point ExampleTime() { return *ParseAmzDate("20130524T000000Z"); }

S3Auth ExampleAuth(std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                   bool anonymous = false) {
  S3AuthOptions options;
  options.keys = *S3Keys::Parse("# a comment\n\nAKIAIOSFODNN7EXAMPLE " + secret +
                                " examplebucket\nOTHER other-secret *\n");
  options.anonymous_reads = anonymous;
  return S3Auth(std::move(options));
}

// AWS's published example: GET Object, "Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk".
Request ExampleGet() {
  Request req{http::verb::get, "/test.txt", 11};
  req.set(http::field::host, "examplebucket.s3.amazonaws.com");
  req.set(http::field::range, "bytes=0-9");
  req.set("x-amz-content-sha256",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  req.set("x-amz-date", "20130524T000000Z");
  req.set(http::field::authorization, kExampleAuth);
  return req;
}

std::optional<S3Error> Verify(const S3Auth& auth, const Request& req,
                              std::chrono::system_clock::time_point now, S3Caller* caller) {
  const std::string_view target = req.target();
  const size_t q = target.find('?');
  return auth.Verify(req, target.substr(0, q),
                     q == std::string_view::npos ? "" : target.substr(q + 1), now, caller);
}

TEST(S3AuthTest, AwsHeaderExampleVerifies) {
  const S3Auth auth = ExampleAuth();  // the caller's key lives in it
  S3Caller caller;
  std::optional<S3Error> e = Verify(auth, ExampleGet(), ExampleTime(), &caller);
  ASSERT_FALSE(e) << e->code << ": " << e->message;
  ASSERT_NE(caller.key, nullptr);
  EXPECT_EQ(caller.key->access_key, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_TRUE(caller.key->Allows("examplebucket"));
  EXPECT_FALSE(caller.key->Allows("other"));
  EXPECT_EQ(caller.payload, S3Payload::kSha256);
}

TEST(S3AuthTest, WrongSecretUnknownKeyChangedHeaderAndSkewFail) {
  const S3Auth auth = ExampleAuth();
  S3Caller caller;
  EXPECT_EQ(Verify(ExampleAuth("another-secret"), ExampleGet(), ExampleTime(), &caller)->code,
            "SignatureDoesNotMatch");
  Request unknown = ExampleGet();
  std::string header(kExampleAuth);
  header.replace(header.find("AKIAIOSFODNN7EXAMPLE"), 20, "AKIAUNKNOWNKEYXXXXXX");
  unknown.set(http::field::authorization, header);
  EXPECT_EQ(Verify(ExampleAuth(), unknown, ExampleTime(), &caller)->code, "InvalidAccessKeyId");
  Request changed = ExampleGet();
  changed.set(http::field::range, "bytes=0-99");
  EXPECT_EQ(Verify(ExampleAuth(), changed, ExampleTime(), &caller)->code, "SignatureDoesNotMatch");
  std::optional<S3Error> skewed =
      Verify(ExampleAuth(), ExampleGet(), ExampleTime() + std::chrono::minutes(16), &caller);
  EXPECT_EQ(skewed->code, "RequestTimeTooSkewed");
  EXPECT_EQ(skewed->status, 403);
  EXPECT_FALSE(Verify(auth, ExampleGet(), ExampleTime() - std::chrono::minutes(14), &caller));
}

TEST(S3AuthTest, AwsPresignedExampleVerifiesAndExpires) {
  // AWS's published example: "Authenticating Requests: Using Query Parameters".
  Request req{http::verb::get,
              "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
              "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires="
              "86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
              "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
              11};
  req.set(http::field::host, "examplebucket.s3.amazonaws.com");
  S3Caller caller;
  std::optional<S3Error> e =
      Verify(ExampleAuth(), req, ExampleTime() + std::chrono::hours(23), &caller);
  ASSERT_FALSE(e) << e->code << ": " << e->message;
  EXPECT_EQ(caller.payload, S3Payload::kUnsigned);
  std::optional<S3Error> expired =
      Verify(ExampleAuth(), req, ExampleTime() + std::chrono::seconds(86401), &caller);
  EXPECT_EQ(expired->code, "AccessDenied");
  EXPECT_EQ(expired->message, "Request has expired");
  Request tampered = req;
  tampered.target(std::string(req.target()).replace(req.target().find("86400"), 5, "99999"));
  EXPECT_EQ(Verify(ExampleAuth(), tampered, ExampleTime(), &caller)->code, "SignatureDoesNotMatch");
}

TEST(S3AuthTest, AnonymousRequestsReadOnlyWhenAllowed) {
  Request get{http::verb::get, "/bucket/key", 11};
  get.set(http::field::host, "localhost");
  S3Caller caller;
  EXPECT_EQ(Verify(ExampleAuth(), get, ExampleTime(), &caller)->code, "AccessDenied");
  const S3Auth open = ExampleAuth("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", true);
  EXPECT_FALSE(Verify(open, get, ExampleTime(), &caller));
  EXPECT_EQ(caller.key, nullptr);
  Request put{http::verb::put, "/bucket/key", 11};
  EXPECT_EQ(Verify(open, put, ExampleTime(), &caller)->code, "AccessDenied");
  Request v2{http::verb::get, "/bucket/key?AWSAccessKeyId=X&Signature=Y&Expires=1", 11};
  EXPECT_EQ(Verify(open, v2, ExampleTime(), &caller)->code, "InvalidRequest");
}

TEST(S3AuthTest, StreamingPayloadsCarryTheSeed) {
  Request req = ExampleGet();
  req.set("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  S3Caller caller;
  // The example's signature covers another payload hash: refused.
  EXPECT_EQ(Verify(ExampleAuth(), req, ExampleTime(), &caller)->code, "SignatureDoesNotMatch");
}

TEST(S3KeysTest, ParsesAndRefusesMistakes) {
  Result<S3Keys> keys = S3Keys::Parse("A1 S1 b1,b2\nA2 S2 *\n");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->Find("A1")->Allows("b2"));
  EXPECT_FALSE(keys->Find("A1")->Allows("b3"));
  EXPECT_TRUE(keys->Find("A2")->Allows("anything"));
  EXPECT_EQ(keys->Find("A3"), nullptr);
  for (const char* bad : {"A1 S1\n", "A1 S1 b1 extra\n", "A1 S1 b1,,b2\n", "A1 S1 *\nA1 S2 *\n"}) {
    Result<S3Keys> r = S3Keys::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().find("S1"), std::string::npos) << "no secret in errors";
  }
}

TEST(S3XmlTest, EscapesAndFormats) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'\x01\n"), "a&lt;b&gt;&amp;&quot;c&apos;&#10;");
  EXPECT_EQ(Iso8601(1369353600123), "2013-05-24T00:00:00.123Z");
  XmlWriter x("Error", false);
  x.Add("Code", "NoSuchKey");
  EXPECT_EQ(x.Finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code></Error>");
}

}  // namespace
}  // namespace unicache

#include "common/logging.h"

#include <gtest/gtest.h>

#include <string>

namespace unicache {
namespace {

TEST(RedactSecretsTest, HidesSasQueryParameters) {
  std::string url =
      "https://acct.blob.core.windows.net/c/b.bin?sv=2022-11-02&se=2030-01-01T00%3A00Z&sp=r"
      "&sig=AbC%2Bdef%3D&skoid=1234";
  std::string out = RedactSecrets(url);
  EXPECT_EQ(out,
            "https://acct.blob.core.windows.net/c/b.bin?sv=2022-11-02&se=***&sp=***&sig=***"
            "&skoid=***");
  EXPECT_EQ(out.find("AbC"), std::string::npos);
}

TEST(RedactSecretsTest, HidesAwsPresignedParameters) {
  std::string url =
      "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
      "&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
      "&X-Amz-Signature=deadbeef0123&X-Amz-Security-Token=tok";
  std::string out = RedactSecrets(url);
  EXPECT_NE(out.find("X-Amz-Algorithm=AWS4-HMAC-SHA256"), std::string::npos);
  EXPECT_NE(out.find("X-Amz-Signature=***"), std::string::npos);
  EXPECT_NE(out.find("X-Amz-Credential=***"), std::string::npos);
  EXPECT_NE(out.find("X-Amz-Security-Token=***"), std::string::npos);
  EXPECT_EQ(out.find("deadbeef"), std::string::npos);
  EXPECT_EQ(out.find("AKIAEXAMPLE"), std::string::npos);
}

TEST(RedactSecretsTest, ParameterNamesAreCaseInsensitive) {
  EXPECT_EQ(RedactSecrets("?x-amz-signature=abc"), "?x-amz-signature=***");
  EXPECT_EQ(RedactSecrets("?SIG=abc&a=b"), "?SIG=***&a=b");
}

TEST(RedactSecretsTest, HidesAccountKeyInConnectionString) {
  std::string conn =
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0+/ab==;"
      "EndpointSuffix=core.windows.net";
  std::string out = RedactSecrets(conn);
  EXPECT_EQ(out,
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;"
            "EndpointSuffix=core.windows.net");
  EXPECT_EQ(RedactSecrets("AccountKey=secret"), "AccountKey=***");
}

TEST(RedactSecretsTest, HidesAuthorizationHeader) {
  std::string req =
      "GET /c/b HTTP/1.1\r\nHost: h\r\nAuthorization: SharedKey acct:c2lnbmF0dXJl\r\nx-ms-date: "
      "now\r\n";
  std::string out = RedactSecrets(req);
  EXPECT_EQ(out, "GET /c/b HTTP/1.1\r\nHost: h\r\nAuthorization: ***\r\nx-ms-date: now\r\n");
  EXPECT_EQ(RedactSecrets("authorization: Bearer eyJhbGciOi"), "authorization: ***");
  EXPECT_EQ(RedactSecrets("Authorization:AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abc"),
            "Authorization:***");
}

TEST(RedactSecretsTest, LeavesOtherTextAlone) {
  for (std::string_view text :
       {"", "no secrets here", "https://h/p?design=keep&signal=keep&version=2", "sigma=1",
        "path/sig=not-a-query"}) {
    EXPECT_EQ(RedactSecrets(text), text);
  }
  EXPECT_EQ(RedactSecrets("?design=keep&sig=x"), "?design=keep&sig=***");
}

TEST(InitLoggingTest, AcceptsKnownLevelsAndRejectsOthers) {
  EXPECT_TRUE(InitLogging("warn").ok());
  EXPECT_TRUE(InitLogging("off").ok());
  Status bad = InitLogging("loud");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(InitLogging("info").ok());
}

}  // namespace
}  // namespace unicache

#include "origin/azure_auth.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "common/crypto.h"
#include "common/logging.h"

namespace unicache {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AzureConnectionStringTest, ParsesDevelopmentStorage) {
  auto cs = ParseAzureConnectionString("UseDevelopmentStorage=true");
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_EQ(cs->account_name, "devstoreaccount1");
  EXPECT_EQ(cs->account_key, kAzuriteKey);
  EXPECT_EQ(cs->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
}

TEST(AzureConnectionStringTest, ParsesAccountKeyForm) {
  auto cs = ParseAzureConnectionString(
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5PQ==;EndpointSuffix=core."
      "windows.net");
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_EQ(cs->account_name, "acct");
  EXPECT_EQ(cs->account_key, "a2V5PQ==");  // the '=' inside the value survives
  EXPECT_EQ(cs->blob_endpoint, "https://acct.blob.core.windows.net");
}

TEST(AzureConnectionStringTest, ExplicitEndpointAndSas) {
  auto cs = ParseAzureConnectionString(
      "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/"
      ";SharedAccessSignature=?sv=2020&sig=SECRET");
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_EQ(cs->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(cs->sas, "sv=2020&sig=SECRET");
}

TEST(AzureConnectionStringTest, ErrorsNeverEchoValues) {
  auto cs = ParseAzureConnectionString("AccountName=acct;AccountKeySECRETVALUE");
  ASSERT_FALSE(cs.ok());
  EXPECT_EQ(cs.status().message().find("SECRET"), std::string::npos);
  auto creds =
      AzureCredentialsFromEnv("acct", FakeEnv({{"AZURE_STORAGE_KEY", "not base64 SECRET!"}}));
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.status().message().find("SECRET"), std::string::npos);
}

TEST(AzureCredentialsTest, PicksTheFirstConfiguredSource) {
  auto none = AzureCredentialsFromEnv("acct", FakeEnv({}));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, AzureAuthKind::kAnonymous);

  auto key = AzureCredentialsFromEnv(
      "acct", FakeEnv({{"AZURE_STORAGE_KEY", "a2V5"}, {"AZURE_STORAGE_SAS_TOKEN", "sig=x"}}));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->kind, AzureAuthKind::kSharedKey);
  EXPECT_EQ(key->key, "key");

  auto sas = AzureCredentialsFromEnv("acct", FakeEnv({{"AZURE_STORAGE_SAS_TOKEN", "?sv=1&sig=x"}}));
  ASSERT_TRUE(sas.ok());
  EXPECT_EQ(sas->kind, AzureAuthKind::kSas);
  EXPECT_EQ(sas->sas, "sv=1&sig=x");

  auto dev = AzureCredentialsFromEnv(
      "devstoreaccount1",
      FakeEnv({{"AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true"}}));
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->kind, AzureAuthKind::kSharedKey);
  EXPECT_EQ(dev->blob_endpoint, kAzuriteBlobEndpoint);

  auto other = AzureCredentialsFromEnv(
      "acct", FakeEnv({{"AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true"}}));
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
}

TEST(AzureCredentialsTest, BearerTokenFileIsReadPerRequest) {
  std::string file = ::testing::TempDir() + "/azure_token";
  std::ofstream(file) << "tok-1\n";
  auto creds = AzureCredentialsFromEnv("acct", FakeEnv({{"AZURE_STORAGE_TOKEN_FILE", file}}));
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  EXPECT_EQ(creds->kind, AzureAuthKind::kBearer);
  AzureRequest req;
  req.path = "/c/b";
  auto http = BuildAzureHttpRequest(*creds, "https://acct.blob.core.windows.net", req, {});
  ASSERT_TRUE(http.ok());
  bool saw = false;
  for (auto& [k, v] : http->headers) {
    if (k == "Authorization") saw = v == "Bearer tok-1";
    if (k == "x-ms-version") {
      EXPECT_GE(v, "2017-11-09");
    }
  }
  EXPECT_TRUE(saw);
  std::ofstream(file) << "tok-2\n";  // rotated by the platform
  http = BuildAzureHttpRequest(*creds, "https://acct.blob.core.windows.net", req, {});
  ASSERT_TRUE(http.ok());
  EXPECT_NE(RedactSecrets("Authorization: Bearer tok-2").find("***"), std::string::npos);
  bool rotated = false;
  for (auto& [k, v] : http->headers) rotated |= k == "Authorization" && v == "Bearer tok-2";
  EXPECT_TRUE(rotated);
}

// Follows the layout in "Authorize with Shared Key" (version 2015-02-21 and later).
TEST(SharedKeyTest, StringToSignLayout) {
  AzureRequest req;
  req.method = "GET";
  req.path = "/mycontainer";
  req.query = {{"restype", "container"}, {"comp", "list"}, {"prefix", "a b"}};
  req.headers = {{"x-ms-version", "2021-08-06"},
                 {"x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"},
                 {"X-Ms-Client-Request-Id", " id1 "}};
  std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\n"
      "x-ms-client-request-id:id1\nx-ms-date:Sun, 11 Oct 2009 21:49:13 "
      "GMT\nx-ms-version:2021-08-06\n"
      "/myaccount/mycontainer\ncomp:list\nprefix:a b\nrestype:container";
  EXPECT_EQ(SharedKeyStringToSign(req, "myaccount", "/mycontainer", 0), expected);
}

TEST(SharedKeyTest, PutBlobCoversLengthTypeRangeAndIfMatch) {
  AzureRequest req;
  req.method = "PUT";
  req.headers = {{"Content-Type", "application/octet-stream"},
                 {"If-Match", "\"0x1\""},
                 {"x-ms-blob-type", "BlockBlob"}};
  EXPECT_EQ(SharedKeyStringToSign(req, "devstoreaccount1", "/devstoreaccount1/c/a%20b", 11),
            "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\"0x1\"\n\n\n\n"
            "x-ms-blob-type:BlockBlob\n/devstoreaccount1/devstoreaccount1/c/a%20b");
}

TEST(SharedKeyTest, BuildSignsWithTheDecodedKey) {
  AzureCredentials creds;
  creds.kind = AzureAuthKind::kSharedKey;
  creds.account = "devstoreaccount1";
  creds.key = Base64Decode(kAzuriteKey).value();
  AzureRequest req;
  req.path = "/c/blob";
  auto now = std::chrono::system_clock::from_time_t(1255297753);
  auto http = BuildAzureHttpRequest(creds, "http://127.0.0.1:10000/devstoreaccount1", req, now);
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->url, "http://127.0.0.1:10000/devstoreaccount1/c/blob");
  AzureRequest signed_req = req;
  signed_req.headers = {{"x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"},
                        {"x-ms-version", std::string(kAzureApiVersion)}};
  std::string to_sign =
      SharedKeyStringToSign(signed_req, "devstoreaccount1", "/devstoreaccount1/c/blob", 0);
  std::string want = "SharedKey devstoreaccount1:" + Base64Encode(HmacSha256(creds.key, to_sign));
  std::string got;
  for (auto& [k, v] : http->headers)
    if (k == "Authorization") got = v;
  EXPECT_EQ(got, want);
  EXPECT_EQ(RedactSecrets("Authorization: " + got), "Authorization: ***");
}

TEST(SharedKeyTest, SasIsAppendedAndRedacted) {
  AzureCredentials creds;
  creds.kind = AzureAuthKind::kSas;
  creds.sas = "sv=2021-08-06&sp=r&sig=c2VjcmV0";
  AzureRequest req;
  req.path = "/c";
  req.query = {{"restype", "container"}, {"comp", "list"}};
  auto http = BuildAzureHttpRequest(creds, "https://a.blob.core.windows.net/", req, {});
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->url,
            "https://a.blob.core.windows.net/"
            "c?restype=container&comp=list&sv=2021-08-06&sp=r&sig=c2VjcmV0");
  std::string redacted = RedactSecrets(http->url);
  EXPECT_EQ(redacted.find("c2VjcmV0"), std::string::npos);
  EXPECT_NE(redacted.find("sig=***"), std::string::npos);
}

TEST(CryptoTest, Base64RoundTrip) {
  for (std::string s : {"", "a", "ab", "abc", "abcd"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)).value(), s);
  }
  EXPECT_FALSE(Base64Decode("abc").ok());
  EXPECT_EQ(HttpDate(std::chrono::system_clock::from_time_t(1255297753)),
            "Sun, 11 Oct 2009 21:49:13 GMT");
}

}  // namespace
}  // namespace unicache

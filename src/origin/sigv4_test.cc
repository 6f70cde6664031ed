#include "origin/sigv4.h"

#include <gtest/gtest.h>

#include "common/crypto.h"

namespace unicache {
namespace {

// AWS's published Signature Version 4 test suite: service "service", region us-east-1.
const AwsCredentials kSuiteCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr char kSuiteDate[] = "20150830T123600Z";
constexpr char kSuiteScope[] = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

SigV4Request SuiteRequest(std::string method,
                          std::vector<std::pair<std::string, std::string>> query) {
  SigV4Request r;
  r.method = std::move(method);
  r.canonical_uri = "/";
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  r.payload_hash = Sha256Hex("");
  return r;
}

TEST(SigV4Test, GetVanillaCanonicalRequestAndSignature) {
  SigV4Request r = SuiteRequest("GET", {});
  EXPECT_EQ(CanonicalRequest(r),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(
      SigV4StringToSign(kSuiteDate, "20150830/us-east-1/service/aws4_request", CanonicalRequest(r)),
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(SigV4Authorization(kSuiteCreds, "us-east-1", "service", kSuiteDate, r),
            std::string("AWS4-HMAC-SHA256 Credential=") + kSuiteScope +
                ", SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, PostVanilla) {
  EXPECT_EQ(
      SigV4Authorization(kSuiteCreds, "us-east-1", "service", kSuiteDate, SuiteRequest("POST", {})),
      std::string("AWS4-HMAC-SHA256 Credential=") + kSuiteScope +
          ", SignedHeaders=host;x-amz-date, "
          "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Test, GetVanillaQueryOrderKeyCase) {
  SigV4Request r = SuiteRequest("GET", {{"Param2", "value2"}, {"Param1", "value1"}});
  EXPECT_EQ(CanonicalQueryString(r.query), "Param1=value1&Param2=value2");
  EXPECT_EQ(SigV4Authorization(kSuiteCreds, "us-east-1", "service", kSuiteDate, r),
            std::string("AWS4-HMAC-SHA256 Credential=") + kSuiteScope +
                ", SignedHeaders=host;x-amz-date, "
                "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndCollapsed) {
  SigV4Request r = SuiteRequest("GET", {});
  r.headers.emplace_back("My-Header1", "  a   b  c ");
  r.headers.emplace_back("my-header1", "d");
  EXPECT_NE(CanonicalRequest(r).find("my-header1:a b c,d\n"), std::string::npos);
  EXPECT_EQ(SignedHeaders(r.headers), "host;my-header1;x-amz-date");
}

// The S3 documentation's examples: bucket "examplebucket", 2013-05-24, key AKIAIOSFODNN7EXAMPLE.
const AwsCredentials kS3Creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                              ""};
constexpr char kS3Date[] = "20130524T000000Z";
constexpr char kS3Scope[] = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";

TEST(SigV4Test, S3GetObjectWithRange) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.payload_hash = Sha256Hex("");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", r.payload_hash},
               {"x-amz-date", kS3Date}};
  EXPECT_EQ(SigV4Authorization(kS3Creds, "us-east-1", "s3", kS3Date, r),
            std::string("AWS4-HMAC-SHA256 Credential=") + kS3Scope +
                ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, S3PutObject) {
  SigV4Request r;
  r.method = "PUT";
  r.canonical_uri = "/test%24file.text";
  r.payload_hash = Sha256Hex("Welcome to Amazon S3.");
  EXPECT_EQ(r.payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-content-sha256", r.payload_hash},
               {"x-amz-date", kS3Date},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  EXPECT_EQ(SigV4Authorization(kS3Creds, "us-east-1", "s3", kS3Date, r),
            std::string("AWS4-HMAC-SHA256 Credential=") + kS3Scope +
                ", SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, S3ListObjects) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};
  r.payload_hash = Sha256Hex("");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-content-sha256", r.payload_hash},
               {"x-amz-date", kS3Date}};
  EXPECT_EQ(CanonicalQueryString(r.query), "max-keys=2&prefix=J");
  EXPECT_EQ(SigV4Authorization(kS3Creds, "us-east-1", "s3", kS3Date, r),
            std::string("AWS4-HMAC-SHA256 Credential=") + kS3Scope +
                ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, QueryValuesAreEncodedStrictly) {
  EXPECT_EQ(CanonicalQueryString({{"prefix", "a/b c"}, {"continuation-token", "x+y="}}),
            "continuation-token=x%2By%3D&prefix=a%2Fb%20c");
}

TEST(SigV4Test, AmzDateFormatsUtc) {
  EXPECT_EQ(AmzDate(std::chrono::system_clock::from_time_t(1440938160)), "20150830T123600Z");
}

}  // namespace
}  // namespace unicache

// Tests of origin URI parsing and of the listing XML of Azure Blob and S3.
#include <gtest/gtest.h>

#include "common/http_date.h"
#include "origin/azure_blob_origin.h"
#include "origin/http_status.h"
#include "origin/s3_origin.h"
#include "origin/xml_extract.h"

namespace unicache {
namespace {

TEST(XmlExtractTest, FindsElementsWithoutConfusingSimilarNames) {
  std::string xml =
      "<?xml version=\"1.0\"?><!-- c --><R><Blobs><Blob><Name>a</Name></Blob>"
      "<BlobPrefix><Name>d/</Name></BlobPrefix><Blob><Name>b</Name></Blob><Blob/></Blobs></R>";
  auto blobs = XmlChildren(xml, "Blob");
  ASSERT_TRUE(blobs.ok());
  ASSERT_EQ(blobs->size(), 3u);
  EXPECT_EQ((*blobs)[0].inner, "<Name>a</Name>");
  EXPECT_EQ((*blobs)[2].inner, "");
  EXPECT_EQ(XmlText(xml, "Missing").value(), "");
  EXPECT_FALSE(XmlChildren("<A><B>x</A>", "B").ok());
}

TEST(XmlExtractTest, DecodesEntities) {
  EXPECT_EQ(XmlDecode("&lt;a&gt; &amp; &quot;q&quot; &apos;&#65;&#x263A;").value(),
            "<a> & \"q\" 'A\xE2\x98\xBA");
  EXPECT_FALSE(XmlDecode("&bogus;").ok());
  EXPECT_FALSE(XmlDecode("&#0;").ok());
}

TEST(AzureBlobUriTest, Parses) {
  auto u = ParseAzureBlobUri(
      "azure://devstoreaccount1/data/train/"
      "v1?endpoint=http%3A%2F%2F127.0.0.1%3A10000%2Fdevstoreaccount1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->account, "devstoreaccount1");
  EXPECT_EQ(u->container, "data");
  EXPECT_EQ(u->root, "train/v1/");
  EXPECT_EQ(u->endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  auto bare = ParseAzureBlobUri("azure://acct/cont");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->root, "");
  EXPECT_FALSE(ParseAzureBlobUri("azure://acct").ok());
  EXPECT_FALSE(ParseAzureBlobUri("azure://Acct/cont").ok());
  EXPECT_FALSE(ParseAzureBlobUri("azure://acct/C").ok());
  EXPECT_FALSE(ParseAzureBlobUri("azure://acct/cont/../x").ok());
  auto with_secret = ParseAzureBlobUri("azure://acct/cont?sig=SECRETSIG");
  ASSERT_FALSE(with_secret.ok());
  EXPECT_EQ(with_secret.status().message().find("SECRETSIG"), std::string::npos);
}

TEST(AzureBlobListTest, ParsesBlobsPrefixesAndMarker) {
  std::string xml = R"(<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="c">
  <Prefix>r/</Prefix><Marker /><MaxResults>2</MaxResults><Delimiter>/</Delimiter>
  <Blobs>
    <Blob><Name>r/a&amp;b.bin</Name><Properties><Creation-Time>Wed, 09 Sep 2009 09:20:02 GMT</Creation-Time>
      <Last-Modified>Wed, 09 Sep 2009 09:20:02 GMT</Last-Modified><Etag>0x8CBFF45D8A29A19</Etag>
      <Content-Length>100</Content-Length><Content-Type>application/octet-stream</Content-Type></Properties></Blob>
    <Blob><Name Encoded="true">r/%EF%BF%BE</Name><Properties><Etag>"0x1"</Etag><Content-Length>0</Content-Length></Properties></Blob>
    <BlobPrefix><Name>r/sub/</Name></BlobPrefix>
  </Blobs>
  <NextMarker>2!12!bWFya2Vy</NextMarker>
</EnumerationResults>)";
  auto page = ParseBlobListXml(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].path, "r/a&b.bin");
  EXPECT_EQ(page->objects[0].size, 100u);
  EXPECT_EQ(page->objects[0].version, "0x8CBFF45D8A29A19");
  EXPECT_EQ(page->objects[0].mtime_ms, 1252488002000);
  EXPECT_EQ(page->objects[1].path, "r/\xEF\xBF\xBE");
  EXPECT_EQ(page->objects[1].version, "0x1");
  ASSERT_EQ(page->prefixes.size(), 1u);
  EXPECT_EQ(page->prefixes[0], "r/sub/");
  EXPECT_EQ(page->next_token, "2!12!bWFya2Vy");
  auto last = ParseBlobListXml("<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>");
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->objects.empty());
  EXPECT_EQ(last->next_token, "");
}

TEST(S3UriTest, Parses) {
  auto u = ParseS3Uri("s3://bucket/p/q?endpoint=http://127.0.0.1:4568&region=eu-west-1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->bucket, "bucket");
  EXPECT_EQ(u->root, "p/q/");
  EXPECT_EQ(u->endpoint, "http://127.0.0.1:4568");
  EXPECT_EQ(u->region, "eu-west-1");
  EXPECT_TRUE(u->path_style);  // custom endpoints default to path style
  auto aws = ParseS3Uri("s3://bucket");
  ASSERT_TRUE(aws.ok());
  EXPECT_FALSE(aws->path_style);
  EXPECT_TRUE(ParseS3Uri("s3://bucket?style=path").value().path_style);
  EXPECT_FALSE(ParseS3Uri("s3://bucket?style=sideways").ok());
  EXPECT_FALSE(ParseS3Uri("s3://B").ok());
  EXPECT_FALSE(ParseS3Uri("s3://bucket?endpoint=ftp://x").ok());
  auto secret = ParseS3Uri("s3://bucket?X-Amz-Signature=SECRETSIG");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message().find("SECRETSIG"), std::string::npos);
}

TEST(S3ListTest, ParsesContentsCommonPrefixesAndToken) {
  std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated>
  <Contents><Key>p/a.txt</Key><LastModified>2009-10-12T17:50:30.250Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/b &lt;1&gt;</Key><LastModified>2009-10-12T17:50:30Z</LastModified><ETag>"e"</ETag><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";
  auto page = ParseListObjectsV2Xml(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].path, "p/a.txt");
  EXPECT_EQ(page->objects[0].size, 434234u);
  EXPECT_EQ(page->objects[0].version, "fba9dede5f27731c9771645a39863328");
  EXPECT_EQ(page->objects[0].mtime_ms, 1255369830250);
  EXPECT_EQ(page->objects[1].path, "p/b <1>");
  ASSERT_EQ(page->prefixes.size(), 1u);
  EXPECT_EQ(page->prefixes[0], "p/dir/");
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  auto done = ParseListObjectsV2Xml(
      "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->next_token, "");
}

TEST(HttpStatusTest, MapsCodes) {
  HttpResponse r;
  auto code = [&](int s) {
    r.status = s;
    return HttpErrorStatus(r, "GET x").code();
  };
  EXPECT_EQ(code(404), StatusCode::kNotFound);
  EXPECT_EQ(code(412), StatusCode::kPreconditionFailed);
  EXPECT_EQ(code(403), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(429), StatusCode::kUnavailable);
  EXPECT_EQ(code(500), StatusCode::kUnavailable);
  EXPECT_EQ(code(503), StatusCode::kUnavailable);
  EXPECT_EQ(code(408), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(code(400), StatusCode::kInvalidArgument);
  r.status = 503;
  r.headers["retry-after"] = "3";
  Status s = HttpErrorStatus(r, "GET x", "ServerBusy");
  EXPECT_EQ(s.retry_after().value(), std::chrono::milliseconds(3000));
  EXPECT_NE(s.message().find("ServerBusy"), std::string::npos);
  EXPECT_FALSE(Unavailable("plain").retry_after().has_value());
  EXPECT_FALSE(ParseRetryAfter("soon").has_value());
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT").value(), std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace unicache

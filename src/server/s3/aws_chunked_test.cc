#include "server/s3/aws_chunked.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/crypto.h"
#include "origin/sigv4.h"

namespace unicache {
namespace {

// AWS's published example of a signed streaming upload ("Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks"): 65 KiB of 'a' in a 64 KiB
// and a 1 KiB chunk, signed by the example key.
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

ChunkSigning ExampleSigning() {
  return ChunkSigning{SigV4SigningKey(kSecret, "20130524", "us-east-1", "s3"), "20130524T000000Z",
                      SigV4Scope("20130524", "us-east-1", "s3"), kSeed};
}

std::string ExampleBody() {
  return "10000;chunk-signature="
         "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
         std::string(65536, 'a') +
         "\r\n400;chunk-signature="
         "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
         std::string(1024, 'a') +
         "\r\n0;chunk-signature="
         "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
}

// Feeds `body` to the decoder `slice` bytes at a time into an output buffer of `out_size`;
// returns the decoded bytes, or the first error.
Result<std::string> DecodeAll(AwsChunkedDecoder& decoder, const std::string& body, size_t slice,
                              size_t out_size = 7000) {
  std::string decoded;
  std::string out(out_size, '\0');
  for (size_t at = 0; at < body.size();) {
    const size_t n = std::min(slice, body.size() - at);
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(body.data() + at), n);
    while (!in.empty()) {
      ASSIGN_OR_RETURN(AwsChunkedDecoder::Progress p,
                       decoder.Decode(in, std::as_writable_bytes(std::span(out))));
      decoded.append(out.data(), p.produced);
      in = in.subspan(p.consumed);
      if (p.consumed == 0 && p.produced == 0) break;
    }
    at += n;
  }
  if (!decoder.done()) return InvalidArgument("body ended early");
  return decoded;
}

std::unique_ptr<PayloadChecksum> Crc32() {
  return std::move(PayloadChecksum::ForHeader("x-amz-checksum-crc32")).value();
}

TEST(AwsChunkedTest, AwsExampleVerifiesInAnySlicing) {
  for (size_t slice : {1u, 3u, 100u, 4096u, 70000u, 1u << 20}) {
    AwsChunkedDecoder decoder(ExampleSigning(), 66560);
    Result<std::string> decoded = DecodeAll(decoder, ExampleBody(), slice);
    ASSERT_TRUE(decoded.ok()) << slice << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, std::string(66560, 'a')) << slice;
  }
}

TEST(AwsChunkedTest, AChangedByteFailsItsChunkSignature) {
  std::string body = ExampleBody();
  body[body.find("\r\n") + 2 + 500] = 'b';
  AwsChunkedDecoder decoder(ExampleSigning(), 66560);
  Result<std::string> decoded = DecodeAll(decoder, body, 8192);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kPermissionDenied);
}

TEST(AwsChunkedTest, AnotherSeedFailsTheFirstChunk) {
  ChunkSigning signing = ExampleSigning();
  signing.seed_signature[0] = signing.seed_signature[0] == '4' ? '5' : '4';
  AwsChunkedDecoder decoder(signing, 66560);
  EXPECT_EQ(DecodeAll(decoder, ExampleBody(), 100000).status().code(),
            StatusCode::kPermissionDenied);
}

TEST(AwsChunkedTest, ChunksCannotBeDroppedOrReordered) {
  // Dropping the 1 KiB chunk breaks the chain (and the stated length).
  std::string body = ExampleBody();
  const size_t second = body.find("400;");
  const size_t final = body.find("0;chunk-signature=b6c6");
  body.erase(second, final - second);
  AwsChunkedDecoder decoder(ExampleSigning(), 65536);
  EXPECT_EQ(DecodeAll(decoder, body, 100000).status().code(), StatusCode::kPermissionDenied);
}

TEST(AwsChunkedTest, LengthMustMatchTheDecodedContentLength) {
  AwsChunkedDecoder shorter(ExampleSigning(), 66000);
  EXPECT_EQ(DecodeAll(shorter, ExampleBody(), 100000).status().code(),
            StatusCode::kInvalidArgument);
  AwsChunkedDecoder longer(ExampleSigning(), 70000);
  EXPECT_FALSE(DecodeAll(longer, ExampleBody(), 100000).ok());
}

TEST(AwsChunkedTest, MalformedFramingIsRefused) {
  for (std::string body :
       {std::string("zz\r\nabc\r\n0\r\n\r\n"), std::string("3\r\nabcd\r\n0\r\n\r\n"),
        std::string("3;foo=bar\r\nabc\r\n0\r\n\r\n"), std::string(5000, '1') + "\r\n"}) {
    AwsChunkedDecoder decoder(std::nullopt, 3);
    EXPECT_EQ(DecodeAll(decoder, body, 10).status().code(), StatusCode::kInvalidArgument) << body;
  }
  // A signed stream needs every chunk signed.
  AwsChunkedDecoder signed_decoder(ExampleSigning(), 3);
  EXPECT_EQ(DecodeAll(signed_decoder, "3\r\nabc\r\n0\r\n\r\n", 10).status().code(),
            StatusCode::kPermissionDenied);
  // Bytes after the end.
  AwsChunkedDecoder extra(std::nullopt, 3);
  EXPECT_FALSE(DecodeAll(extra, "3\r\nabc\r\n0\r\n\r\nxyz", 100).ok());
}

TEST(AwsChunkedTest, UnsignedTrailerChecksumIsChecked) {
  // CRC32 of "hello world" is 0x0d4a1185: base64 "DUoRhQ==".
  const std::string good =
      "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  for (size_t slice : {1u, 7u, 1000u}) {
    AwsChunkedDecoder decoder(std::nullopt, 11, Crc32());
    Result<std::string> decoded = DecodeAll(decoder, good, slice);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, "hello world");
  }
  std::string bad = good;
  bad[bad.find("world")] = 'W';
  AwsChunkedDecoder decoder(std::nullopt, 11, Crc32());
  EXPECT_EQ(DecodeAll(decoder, bad, 1000).status().code(), StatusCode::kChecksumMismatch);
  // An announced checksum the trailer lacks.
  AwsChunkedDecoder missing(std::nullopt, 5, Crc32());
  EXPECT_FALSE(DecodeAll(missing, "5\r\nhello\r\n0\r\n\r\n", 1000).ok());
}

TEST(AwsChunkedTest, SignedTrailerIsChecked) {
  const ChunkSigning signing = ExampleSigning();
  auto chunk_sig = [&](const std::string& prev, const std::string& data) {
    return SigV4Signature(signing.signing_key, "AWS4-HMAC-SHA256-PAYLOAD\n" + signing.amz_date +
                                                   "\n" + signing.scope + "\n" + prev + "\n" +
                                                   Sha256Hex("") + "\n" + Sha256Hex(data));
  };
  const std::string s1 = chunk_sig(kSeed, "hello");
  const std::string s2 = chunk_sig(s1, "");
  const std::string trailer = "x-amz-checksum-crc32:NhCmhg==\n";  // CRC32("hello")
  const std::string ts = SigV4Signature(
      signing.signing_key, "AWS4-HMAC-SHA256-TRAILER\n" + signing.amz_date + "\n" + signing.scope +
                               "\n" + s2 + "\n" + Sha256Hex(trailer));
  const std::string body = "5;chunk-signature=" + s1 + "\r\nhello\r\n0;chunk-signature=" + s2 +
                           "\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:" + ts +
                           "\r\n\r\n";
  AwsChunkedDecoder decoder(signing, 5, Crc32());
  Result<std::string> decoded = DecodeAll(decoder, body, 9);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  std::string forged = body;
  forged.replace(forged.find("x-amz-trailer-signature:") + 24, 1, ts[0] == 'a' ? "b" : "a");
  AwsChunkedDecoder second(signing, 5, Crc32());
  EXPECT_EQ(DecodeAll(second, forged, 9).status().code(), StatusCode::kPermissionDenied);
}

TEST(PayloadChecksumTest, KnownValues) {
  struct Case {
    const char* header;
    const char* base64;  // of "hello world"
  } cases[] = {
      {"x-amz-checksum-crc32", "DUoRhQ=="},
      {"x-amz-checksum-crc32c", "yZRlqg=="},
      {"x-amz-checksum-sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0="},
      {"x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
  };
  for (const Case& c : cases) {
    Result<std::unique_ptr<PayloadChecksum>> sum = PayloadChecksum::ForHeader(c.header);
    ASSERT_TRUE(sum.ok()) << c.header;
    (*sum)->Update("hello ");
    (*sum)->Update("world");
    EXPECT_EQ((*sum)->Base64(), c.base64) << c.header;
  }
  EXPECT_EQ(PayloadChecksum::ForHeader("x-amz-checksum-crc64nvme").status().code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(PayloadChecksum::ForHeader("content-md5").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace unicache

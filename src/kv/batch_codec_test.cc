#include "kv/batch_codec.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

TEST(BatchCodecTest, KeyListRoundTrip) {
  std::vector<std::string> keys{"a", std::string("\0\1\2", 3), std::string(1024, 'k')};
  auto decoded = DecodeKeyList(EncodeKeyList(keys));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, keys);
}

TEST(BatchCodecTest, PutBatchRoundTripAndGather) {
  std::vector<KvPutItem> items{{"k1", "value-one", 0}, {"k2", "", 5000}, {"k3", "3", UINT64_MAX}};
  std::string body = EncodePutBatch(items);
  std::string gathered = EncodePutHeader(items) + "value-one" + "" + "3";
  EXPECT_EQ(body, gathered);
  auto decoded = DecodePutBatch(body);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ((*decoded)[0].value, "value-one");
  EXPECT_EQ((*decoded)[1].ttl_ms, 5000u);
  EXPECT_EQ((*decoded)[2].key, "k3");
  EXPECT_EQ((*decoded)[2].ttl_ms, UINT64_MAX);
}

TEST(BatchCodecTest, RejectsMalformedBodies) {
  EXPECT_FALSE(DecodeKeyList("").ok());
  EXPECT_FALSE(DecodeKeyList("XXXX\1\0\0\0").ok());
  std::string truncated = EncodeKeyList(std::vector<std::string>{"abc"});
  truncated.pop_back();
  EXPECT_FALSE(DecodeKeyList(truncated).ok());
  std::vector<KvPutItem> items{{"k", "vv", 0}};
  std::string body = EncodePutBatch(items);
  EXPECT_FALSE(DecodePutBatch(body + "x").ok());
  EXPECT_FALSE(DecodePutBatch(body.substr(0, body.size() - 1)).ok());
  std::string huge = "UKV1";
  huge += std::string("\xff\xff\xff\x7f", 4);
  EXPECT_EQ(DecodeKeyList(huge).status().code(), StatusCode::kInvalidArgument);
}

TEST(BatchCodecTest, GetHeadStatusListAndPrefixAnswer) {
  KvGetHead head{{KvItemStatus::kOk, KvItemStatus::kNotFound}, {7, 0}};
  std::string enc = EncodeGetHead(head);
  EXPECT_EQ(enc.size(), GetHeadSize(2));
  auto dec = DecodeGetHead(enc + "payload");
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->lengths[0], 7u);
  EXPECT_EQ(dec->statuses[1], KvItemStatus::kNotFound);
  std::vector<KvItemStatus> st{KvItemStatus::kOk, KvItemStatus::kResourceExhausted};
  EXPECT_EQ(*DecodeStatusList(EncodeStatusList(st)), st);
  auto pa = DecodePrefixAnswer(EncodePrefixAnswer(42, "lease-1"));
  ASSERT_TRUE(pa.ok());
  EXPECT_EQ(pa->first, 42u);
  EXPECT_EQ(pa->second, "lease-1");
  EXPECT_EQ(ItemStatusOf(ResourceExhausted("q")), KvItemStatus::kResourceExhausted);
  EXPECT_EQ(StatusOfItem(KvItemStatus::kNotFound).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace unicache

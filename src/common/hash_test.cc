#include "common/hash.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

namespace unicache {
namespace {

TEST(Key128Test, HexIsHighHalfFirstLowerCase) {
  Key128 k{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(k.Hex(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(Key128{}.Hex(), std::string(32, '0'));
  EXPECT_EQ((Key128{0, 1}).Hex(), std::string(31, '0') + "1");
  EXPECT_EQ((Key128{1, 0}).Hex(), std::string(15, '0') + "1" + std::string(16, '0'));
}

TEST(Key128Test, HexRoundTrip) {
  for (const Key128& k : {Key128{}, Key128{~0ULL, ~0ULL}, Key128{0x0123456789abcdefULL, 42},
                          HashFields({"x"}), BlockKey("o", "p", "v", 7)}) {
    Result<Key128> back = Key128::FromHex(k.Hex());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, k);
  }
}

TEST(Key128Test, FromHexAcceptsUpperCase) {
  Result<Key128> k = Key128::FromHex("0123456789ABCDEFFEDCBA9876543210");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, (Key128{0x0123456789abcdefULL, 0xfedcba9876543210ULL}));
}

TEST(Key128Test, FromHexRejectsBadInput) {
  std::string good(32, 'a');
  for (std::string bad :
       {std::string(), std::string(31, 'a'), std::string(33, 'a'), std::string(64, 'a'),
        good.substr(0, 31) + "g", "x" + good.substr(1), good.substr(0, 16) + " " + good.substr(17),
        good.substr(0, 31) + std::string(1, '\0'), "-" + good.substr(1)}) {
    Result<Key128> k = Key128::FromHex(bad);
    ASSERT_FALSE(k.ok()) << bad;
    EXPECT_EQ(k.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(Key128Test, OrderingComparesHighHalfFirst) {
  EXPECT_LT((Key128{0, ~0ULL}), (Key128{1, 0}));
  EXPECT_LT((Key128{1, 0}), (Key128{1, 1}));
  EXPECT_EQ((Key128{3, 4}), (Key128{3, 4}));
  EXPECT_NE((Key128{3, 4}), (Key128{4, 3}));
}

TEST(Key128Test, StdHashWorksInUnorderedSet) {
  std::unordered_set<Key128> set;
  for (uint64_t i = 0; i < 1000; ++i) set.insert(BlockKey("o", "p", "v", i));
  EXPECT_EQ(set.size(), 1000u);
  EXPECT_TRUE(set.count(BlockKey("o", "p", "v", 999)));
  EXPECT_FALSE(set.count(BlockKey("o", "p", "v", 1000)));
}

TEST(HashFieldsTest, IsDeterministic) {
  EXPECT_EQ(HashFields({"a", "b"}), HashFields({"a", "b"}));
  EXPECT_NE(HashFields({"a", "b"}), HashFields({"b", "a"}));
}

TEST(HashFieldsTest, FieldsAreLengthPrefixed) {
  EXPECT_NE(HashFields({"ab", "c"}), HashFields({"a", "bc"}));
  EXPECT_NE(HashFields({"abc"}), HashFields({"ab", "c"}));
  EXPECT_NE(HashFields({"a", ""}), HashFields({"", "a"}));
  EXPECT_NE(HashFields({"a"}), HashFields({"a", ""}));
  EXPECT_NE(HashFields({}), HashFields({""}));
  EXPECT_NE(HashFields({""}), HashFields({"", ""}));
  // A field that contains what would be the next field's length prefix must not collide.
  std::string len1("\x01\0\0\0\0\0\0\0", 8);
  EXPECT_NE(HashFields({"a" + len1 + "b"}), HashFields({"a", "b"}));
}

TEST(HashFieldsTest, NoCollisionsOverManySmallInputs) {
  std::set<Key128> seen;
  std::vector<std::string> parts = {"", "a", "b", "ab", "ba", "aa", "/", "a/", "/a"};
  size_t n = 0;
  for (const auto& x : parts) {
    for (const auto& y : parts) {
      seen.insert(HashFields({x, y}));
      ++n;
    }
  }
  EXPECT_EQ(seen.size(), n);
}

TEST(BlockKeyTest, DiffersByEachField) {
  Key128 base = BlockKey("origin", "dir/file.bin", "v1", 3);
  EXPECT_EQ(base, BlockKey("origin", "dir/file.bin", "v1", 3));
  EXPECT_NE(base, BlockKey("origin2", "dir/file.bin", "v1", 3));
  EXPECT_NE(base, BlockKey("origin", "dir/file.bim", "v1", 3));
  EXPECT_NE(base, BlockKey("origin", "dir/file.bin", "v2", 3));
  EXPECT_NE(base, BlockKey("origin", "dir/file.bin", "v1", 4));
  EXPECT_NE(base, BlockKey("origin", "dir/file.bin", "v1", 30));
  // Moving bytes between fields changes the key.
  EXPECT_NE(BlockKey("a", "bc", "v", 0), BlockKey("ab", "c", "v", 0));
  EXPECT_NE(BlockKey("o", "p1", "", 0), BlockKey("o", "p", "1", 0));
  EXPECT_NE(BlockKey("o", "p", "v1", 1), BlockKey("o", "p", "v", 11));
}

TEST(BlockKeyTest, IsStableAcrossReleases) {
  // Block keys name files in the SSD tier: a change here orphans every cached block after an
  // upgrade. Regression vectors computed once with this implementation (XXH3-128).
  EXPECT_EQ(HashFields({"block/v1", "o", "p", "v", "0"}), BlockKey("o", "p", "v", 0));
  EXPECT_EQ(BlockKey("local", "data/train-00001.tar", "5f3a-1", 0).Hex(),
            "6d48fba0c60da9ac04c6bd4be2fa54fc");
  EXPECT_EQ(BlockKey("local", "data/train-00001.tar", "5f3a-1", 12345).Hex(),
            "868f90c65dc8629957558853f4de4a04");
}

TEST(Checksum64Test, MatchesXxh3Vectors) {
  // XXH3_64bits() values computed once with libxxhash; a regression vector.
  EXPECT_EQ(Checksum64(std::string_view("")), 0x2d06800538d394c2ULL);
  EXPECT_EQ(Checksum64(std::string_view("a")), 0xe6c632b61e964e1fULL);
  EXPECT_EQ(Checksum64(std::string_view("hello world")), 0xd447b1ea40e6988bULL);
  EXPECT_EQ(Checksum64(std::string_view("unicache")), 0x7526339b1bbb926aULL);
  std::string big(1000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  EXPECT_EQ(Checksum64(big), 0x10ad30264426c830ULL);
}

TEST(Checksum64Test, SpanAndStringViewAgree) {
  std::string text = "some block bytes";
  auto bytes = std::as_bytes(std::span(text.data(), text.size()));
  EXPECT_EQ(Checksum64(bytes), Checksum64(std::string_view(text)));
}

TEST(Checksum64Test, DetectsASingleBitFlip) {
  std::string data(4096, 'x');
  uint64_t before = Checksum64(data);
  data[2048] ^= 0x01;
  EXPECT_NE(Checksum64(data), before);
}

TEST(Hash64Test, SeedMatters) {
  EXPECT_EQ(Hash64("hello", 42), 0xbafa072f07db7937ULL);
  EXPECT_EQ(Hash64("hello", 0), Checksum64(std::string_view("hello")));
  EXPECT_NE(Hash64("hello", 1), Hash64("hello", 2));
}

TEST(HexTest, RoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string hex = ToHex(std::as_bytes(std::span(all.data(), all.size())));
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  Result<std::string> back = FromHex(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
  Result<std::string> upper = FromHex("DEADBEEF");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, "\xde\xad\xbe\xef");
  Result<std::string> empty = FromHex("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST(HexTest, RejectsBadInput) {
  for (std::string_view bad : {"a", "abc", "zz", "0g", "0x12", "  "}) {
    Result<std::string> r = FromHex(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace unicache

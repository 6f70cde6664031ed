#include "kv/token_hash.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/crypto.h"

namespace unicache {
namespace {

TEST(TokenHashTest, ChainIsPrefixStable) {
  TokenHashOptions o;
  o.model = "m";
  o.block_tokens = 4;
  std::vector<uint32_t> a{1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint32_t> b{1, 2, 3, 4, 5, 6, 7, 9};
  auto ha = TokenBlockHashes(a, o), hb = TokenBlockHashes(b, o);
  ASSERT_EQ(ha.size(), 2u);
  EXPECT_EQ(ha[0], hb[0]);
  EXPECT_NE(ha[1], hb[1]);
  EXPECT_EQ(ha[0].size(), kTokenHashBytes);
  o.salt = "s";
  EXPECT_NE(TokenBlockHashes(a, o)[0], ha[0]);
  o.block_tokens = 0;
  EXPECT_TRUE(TokenBlockHashes(a, o).empty());
}

// The same vectors are checked by python (tests/integration/test_kv.py): equal bytes in C++
// and Python.
TEST(TokenHashTest, MatchesSharedTestVectors) {
  std::ifstream in(UNICACHE_KV_VECTORS);
  ASSERT_TRUE(in.good()) << UNICACHE_KV_VECTORS;
  nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_GT(doc["vectors"].size(), 5u);
  for (const auto& v : doc["vectors"]) {
    TokenHashOptions o;
    o.model = v["model"].get<std::string>();
    o.salt = v["salt"].get<std::string>();
    o.extra = v["extra"].get<std::string>();
    o.block_tokens = v["block_tokens"].get<size_t>();
    o.include_partial = v["include_partial"].get<bool>();
    for (const auto& e : v["block_extras"]) o.block_extras.push_back(e.get<std::string>());
    std::vector<uint32_t> tokens;
    for (const auto& t : v["tokens"]) tokens.push_back(t.get<uint32_t>());
    EXPECT_EQ(HexOf(TokenChainRoot(o)), v["root"].get<std::string>()) << v["name"];
    std::vector<std::string> keys = TokenBlockHashes(tokens, o);
    ASSERT_EQ(keys.size(), v["keys"].size()) << v["name"];
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(HexOf(keys[i]), v["keys"][i].get<std::string>()) << v["name"] << " block " << i;
    }
  }
}

}  // namespace
}  // namespace unicache

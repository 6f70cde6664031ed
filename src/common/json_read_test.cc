#include "common/json_read.h"

#include <gtest/gtest.h>

namespace unicache {
namespace {

Result<uint64_t> ReadSize(std::string_view text) {
  return ReadJsonObject<uint64_t>(text, "answer", [](const nlohmann::json& j) -> Result<uint64_t> {
    return j.at("size").get<uint64_t>();
  });
}

TEST(ReadJsonObjectTest, ReadsWhatIsThere) {
  Result<uint64_t> n = ReadSize(R"({"size": 42})");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 42u);
}

TEST(ReadJsonObjectTest, AnythingElseIsAStatusNotAnException) {
  for (std::string_view bad :
       {"", "not json", "[1,2]", "42", R"({"size": "big"})", R"({})", R"({"size": null})"}) {
    Result<uint64_t> n = ReadSize(bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(n.status().message().find("answer"), std::string::npos);
  }
}

}  // namespace
}  // namespace unicache

// The KV wire formats pinned to bytes: tests/kv_wire_vectors.json, which the Python clients run
// too (tests/integration/test_kv_wire.py). Both implementations encode every case to the
// vector's bytes and decode the bytes back to the case.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/hash.h"
#include "kv/batch_codec.h"
#include "kv/local_protocol.h"

namespace unicache {
namespace {

nlohmann::json Vectors() {
  std::ifstream in(UNICACHE_KV_WIRE_VECTORS);
  EXPECT_TRUE(in.good()) << UNICACHE_KV_WIRE_VECTORS;
  return nlohmann::json::parse(in);
}

std::string Bytes(const nlohmann::json& hex) {
  Result<std::string> b = FromHex(hex.get<std::string>());
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : "";
}

std::vector<KvItemStatus> Statuses(const nlohmann::json& v) {
  std::vector<KvItemStatus> out;
  for (const auto& s : v) out.push_back(static_cast<KvItemStatus>(s.get<int>()));
  return out;
}

KvLocalOp OpNamed(const std::string& name) {
  static const std::map<std::string, KvLocalOp> ops = {{"register", KvLocalOp::kRegister},
                                                       {"get", KvLocalOp::kGet},
                                                       {"exists", KvLocalOp::kExists},
                                                       {"put", KvLocalOp::kPut},
                                                       {"prefix_match", KvLocalOp::kPrefixMatch},
                                                       {"release", KvLocalOp::kRelease}};
  return ops.at(name);
}

TEST(KvWireVectorsTest, BatchBodies) {
  nlohmann::json doc = Vectors();
  ASSERT_GE(doc["batch"].size(), 5u);
  for (const auto& v : doc["batch"]) {
    const std::string kind = v["kind"].get<std::string>();
    const std::string wire = Bytes(v["hex"]);
    SCOPED_TRACE(v["name"].get<std::string>());
    if (kind == "key_list") {
      std::vector<std::string> keys;
      for (const auto& k : v["keys"]) keys.push_back(Bytes(k));
      EXPECT_EQ(EncodeKeyList(keys), wire);
      EXPECT_EQ(DecodeKeyList(wire).value(), keys);
    } else if (kind == "put_header") {
      std::vector<std::string> keys, values;
      std::vector<KvPutItem> items;
      for (const auto& i : v["items"]) {
        keys.push_back(Bytes(i["key"]));
        values.push_back(std::string(i["value_len"].get<size_t>(), 'v'));
      }
      for (size_t i = 0; i < keys.size(); ++i) {
        items.push_back({keys[i], values[i], v["items"][i]["ttl_ms"].get<uint64_t>()});
      }
      EXPECT_EQ(EncodePutHeader(items), wire);
      std::string body = wire;
      for (const std::string& value : values) body += value;
      Result<std::vector<KvPutItem>> decoded = DecodePutBatch(body);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      ASSERT_EQ(decoded->size(), items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        EXPECT_EQ((*decoded)[i].key, items[i].key);
        EXPECT_EQ((*decoded)[i].value.size(), items[i].value.size());
        EXPECT_EQ((*decoded)[i].ttl_ms, items[i].ttl_ms);
      }
    } else if (kind == "status_list") {
      EXPECT_EQ(EncodeStatusList(Statuses(v["statuses"])), wire);
      EXPECT_EQ(DecodeStatusList(wire).value(), Statuses(v["statuses"]));
    } else if (kind == "get_head") {
      KvGetHead head{Statuses(v["statuses"]), v["lengths"].get<std::vector<uint32_t>>()};
      EXPECT_EQ(EncodeGetHead(head), wire);
      Result<KvGetHead> decoded = DecodeGetHead(wire);
      ASSERT_TRUE(decoded.ok());
      EXPECT_EQ(decoded->statuses, head.statuses);
      EXPECT_EQ(decoded->lengths, head.lengths);
    } else if (kind == "prefix_answer") {
      EXPECT_EQ(EncodePrefixAnswer(v["matched"].get<uint32_t>(), v["lease"].get<std::string>()),
                wire);
      auto decoded = DecodePrefixAnswer(wire).value();
      EXPECT_EQ(decoded.first, v["matched"].get<uint32_t>());
      EXPECT_EQ(decoded.second, v["lease"].get<std::string>());
    } else {
      ADD_FAILURE() << "unknown kind " << kind;
    }
  }
}

TEST(KvWireVectorsTest, SharedMemoryRequests) {
  nlohmann::json doc = Vectors();
  ASSERT_GE(doc["local_requests"].size(), 6u);
  for (const auto& v : doc["local_requests"]) {
    SCOPED_TRACE(v["op"].get<std::string>());
    KvLocalRequest req;
    req.op = OpNamed(v["op"].get<std::string>());
    req.segment_bytes = v.value("segment_bytes", uint64_t{0});
    req.ns = v.value("ns", "");
    req.lease = v.value("lease", "");
    req.lease_ms = v.value("lease_ms", uint64_t{0});
    for (const auto& i : v.value("items", nlohmann::json::array())) {
      req.items.push_back({Bytes(i["key"]), i.value("offset", uint64_t{0}),
                           i.value("length", uint64_t{0}), i.value("ttl_ms", uint64_t{0})});
    }
    const std::string wire = Bytes(v["hex"]);
    EXPECT_EQ(EncodeLocalRequest(req), wire);
    Result<KvLocalRequest> decoded = DecodeLocalRequest(wire);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(EncodeLocalRequest(*decoded), wire);
  }
}

TEST(KvWireVectorsTest, SharedMemoryAnswers) {
  nlohmann::json doc = Vectors();
  ASSERT_GE(doc["local_answers"].size(), 6u);
  for (const auto& v : doc["local_answers"]) {
    SCOPED_TRACE(v.dump());
    const KvLocalOp op = OpNamed(v["op"].get<std::string>());
    KvLocalAnswer a;
    a.status = Status(static_cast<StatusCode>(v.value("code", 0)), v.value("message", ""));
    a.statuses = Statuses(v.value("statuses", nlohmann::json::array()));
    a.lengths = v.value("lengths", std::vector<uint64_t>());
    a.matched = v.value("matched", uint64_t{0});
    a.lease_id = v.value("lease", "");
    a.released = v.value("released", false);
    const std::string wire = Bytes(v["hex"]);
    EXPECT_EQ(EncodeLocalAnswer(op, a), wire);
    Result<KvLocalAnswer> decoded = DecodeLocalAnswer(op, wire);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(EncodeLocalAnswer(op, *decoded), wire);
  }
}

}  // namespace
}  // namespace unicache

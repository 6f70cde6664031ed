#include "kv/local_protocol.h"

#include <gtest/gtest.h>

#include "kv/kv_config.h"

namespace unicache {
namespace {

KvLocalRequest RoundTrip(const KvLocalRequest& req) {
  Result<KvLocalRequest> r = DecodeLocalRequest(EncodeLocalRequest(req));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : KvLocalRequest{};
}

TEST(KvLocalProtocolTest, RequestsRoundTrip) {
  KvLocalRequest put;
  put.op = KvLocalOp::kPut;
  put.ns = "llama";
  put.items = {{"k1", 0, 100, 0}, {std::string("\0\xff", 2), 4096, 1 << 20, UINT64_MAX}};
  KvLocalRequest p = RoundTrip(put);
  EXPECT_EQ(p.op, KvLocalOp::kPut);
  EXPECT_EQ(p.ns, "llama");
  ASSERT_EQ(p.items.size(), 2u);
  EXPECT_EQ(p.items[1].key, std::string("\0\xff", 2));
  EXPECT_EQ(p.items[1].offset, 4096u);
  EXPECT_EQ(p.items[1].length, 1u << 20);
  EXPECT_EQ(p.items[1].ttl_ms, UINT64_MAX);

  KvLocalRequest get;
  get.op = KvLocalOp::kGet;
  get.ns = "m";
  get.lease = "abc";
  get.items = {{"k", 8, 16, 0}};
  KvLocalRequest g = RoundTrip(get);
  EXPECT_EQ(g.lease, "abc");
  EXPECT_EQ(g.items[0].offset, 8u);
  EXPECT_EQ(g.items[0].length, 16u);

  KvLocalRequest prefix;
  prefix.op = KvLocalOp::kPrefixMatch;
  prefix.ns = "m";
  prefix.lease_ms = 5000;
  prefix.items = {{"a"}, {"b"}, {"c"}};
  KvLocalRequest pm = RoundTrip(prefix);
  EXPECT_EQ(pm.lease_ms, 5000u);
  EXPECT_EQ(pm.items.size(), 3u);
  EXPECT_EQ(pm.items[2].key, "c");

  KvLocalRequest reg;
  reg.op = KvLocalOp::kRegister;
  reg.segment_bytes = 1ull << 33;
  EXPECT_EQ(RoundTrip(reg).segment_bytes, 1ull << 33);

  KvLocalRequest rel;
  rel.op = KvLocalOp::kRelease;
  rel.ns = "m";
  rel.lease = "L";
  EXPECT_EQ(RoundTrip(rel).lease, "L");
}

TEST(KvLocalProtocolTest, AnswersRoundTrip) {
  KvLocalAnswer a;
  a.statuses = {KvItemStatus::kOk, KvItemStatus::kNotFound, KvItemStatus::kResourceExhausted};
  a.lengths = {10, 0, 1ull << 26};
  Result<KvLocalAnswer> g =
      DecodeLocalAnswer(KvLocalOp::kGet, EncodeLocalAnswer(KvLocalOp::kGet, a));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->statuses, a.statuses);
  EXPECT_EQ(g->lengths, a.lengths);

  KvLocalAnswer p;
  p.matched = 7;
  p.lease_id = "0123";
  Result<KvLocalAnswer> pm =
      DecodeLocalAnswer(KvLocalOp::kPrefixMatch, EncodeLocalAnswer(KvLocalOp::kPrefixMatch, p));
  ASSERT_TRUE(pm.ok());
  EXPECT_EQ(pm->matched, 7u);
  EXPECT_EQ(pm->lease_id, "0123");

  KvLocalAnswer err;
  err.status = NotFound("unknown KV namespace 'x'");
  Result<KvLocalAnswer> e =
      DecodeLocalAnswer(KvLocalOp::kGet, EncodeLocalAnswer(KvLocalOp::kGet, err));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->status.code(), StatusCode::kNotFound);
  EXPECT_EQ(e->status.message(), "unknown KV namespace 'x'");
}

TEST(KvLocalProtocolTest, RejectsMalformedRequests) {
  EXPECT_FALSE(DecodeLocalRequest("").ok());
  EXPECT_FALSE(DecodeLocalRequest(std::string(1, '\x09')).ok());  // unknown op
  KvLocalRequest get;
  get.op = KvLocalOp::kGet;
  get.ns = "m";
  get.items = {{"k", 1, 2, 0}};
  std::string good = EncodeLocalRequest(get);
  for (size_t cut = 1; cut < good.size(); ++cut) {
    EXPECT_FALSE(DecodeLocalRequest(good.substr(0, cut)).ok()) << "cut at " << cut;
  }
  EXPECT_FALSE(DecodeLocalRequest(good + "x").ok());  // trailing bytes
  // A count over the batch limit is refused before anything is allocated.
  std::string big;
  big.push_back(static_cast<char>(KvLocalOp::kExists));
  big += std::string("\x01\x00m", 3);
  uint32_t count = kKvMaxBatchKeys + 1;
  for (int i = 0; i < 4; ++i) big.push_back(static_cast<char>((count >> (8 * i)) & 0xff));
  Result<KvLocalRequest> r = DecodeLocalRequest(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("at most"), std::string::npos);
}

TEST(KvLocalProtocolTest, RejectsMalformedAnswers) {
  EXPECT_FALSE(DecodeLocalAnswer(KvLocalOp::kGet, "").ok());
  KvLocalAnswer a;
  a.statuses = {KvItemStatus::kOk};
  a.lengths = {3};
  std::string good = EncodeLocalAnswer(KvLocalOp::kGet, a);
  EXPECT_FALSE(DecodeLocalAnswer(KvLocalOp::kGet, good.substr(0, good.size() - 1)).ok());
  std::string bad_status = good;
  bad_status[3 + 4] = 42;  // code, empty message, count, then the item status
  EXPECT_FALSE(DecodeLocalAnswer(KvLocalOp::kGet, bad_status).ok());
}

TEST(KvLocalProtocolTest, FramePrefixesTheLength) {
  std::string f = Frame("abc");
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f.substr(0, 4), std::string("\x03\x00\x00\x00", 4));
  EXPECT_EQ(f.substr(4), "abc");
}

}  // namespace
}  // namespace unicache

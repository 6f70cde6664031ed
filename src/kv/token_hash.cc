#include "kv/token_hash.h"

#include <openssl/sha.h>

namespace unicache {
namespace {

constexpr std::string_view kDomain = "unicache-kv-chain-v1";

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutLengthPrefixed(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

std::string Sha256Truncated(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), kTokenHashBytes);
}

}  // namespace

std::string TokenChainRoot(const TokenHashOptions& options) {
  std::string buf(kDomain);
  PutLengthPrefixed(buf, options.model);
  PutLengthPrefixed(buf, options.salt);
  PutLengthPrefixed(buf, options.extra);
  return Sha256Truncated(buf);
}

std::string TokenBlockHash(std::string_view parent, std::span<const uint32_t> tokens,
                           std::string_view block_extra) {
  std::string buf;
  buf.reserve(parent.size() + 8 + 4 * tokens.size() + block_extra.size());
  buf += parent;
  PutU32(buf, static_cast<uint32_t>(tokens.size()));
  for (uint32_t t : tokens) PutU32(buf, t);
  PutLengthPrefixed(buf, block_extra);
  return Sha256Truncated(buf);
}

std::vector<std::string> TokenBlockHashes(std::span<const uint32_t> tokens,
                                          const TokenHashOptions& options) {
  std::vector<std::string> out;
  if (options.block_tokens == 0) return out;
  std::string parent = TokenChainRoot(options);
  size_t n = options.block_tokens;
  for (size_t start = 0, i = 0; start < tokens.size(); start += n, ++i) {
    size_t len = std::min(n, tokens.size() - start);
    if (len < n && !options.include_partial) break;
    std::string_view extra;
    if (i < options.block_extras.size()) extra = options.block_extras[i];
    parent = TokenBlockHash(parent, tokens.subspan(start, len), extra);
    out.push_back(parent);
  }
  return out;
}

}  // namespace unicache

// The KV-cache key chain: turns a prompt's token ids into one key per block of tokens, where each
// key depends on every token before it (a prefix hash chain). Deterministic across processes,
// machines and languages: python/unicache/token_hash.py computes the same bytes, and
// tests/kv_hash_vectors.json pins both. The full specification is in docs/KV.md ("Hash chain").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace unicache {

struct TokenHashOptions {
  std::string model;             // model id, e.g. "meta-llama/Llama-3-8B"
  std::string salt;              // optional: isolates tenants sharing a namespace
  std::string extra;             // optional: e.g. a LoRA adapter id; applies to the whole chain
  size_t block_tokens = 256;     // tokens per block (one value per block)
  bool include_partial = false;  // also hash a trailing block with fewer than block_tokens tokens
  // Optional per-block extra keys (e.g. multimodal input hashes): entry i goes into block i's
  // hash; missing entries are empty.
  std::vector<std::string> block_extras;
};

inline constexpr size_t kTokenHashBytes = 16;

// Returns the 16-byte root of the chain: SHA-256("unicache-kv-chain-v1" || lp(model) ||
// lp(salt) || lp(extra)) truncated to 16 bytes, lp(x) = u32le(len(x)) || x.
std::string TokenChainRoot(const TokenHashOptions& options);

// Returns the 16-byte hash of one block: SHA-256(parent || u32le(n) || n x u32le(token) ||
// lp(block_extra)) truncated to 16 bytes.
std::string TokenBlockHash(std::string_view parent, std::span<const uint32_t> tokens,
                           std::string_view block_extra = {});

// Returns the chain of block keys (16 raw bytes each) for `tokens`: one per full block of
// options.block_tokens (plus the trailing partial block when include_partial). Returns an empty
// chain when block_tokens is 0.
std::vector<std::string> TokenBlockHashes(std::span<const uint32_t> tokens,
                                          const TokenHashOptions& options);

}  // namespace unicache

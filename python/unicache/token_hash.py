"""The KV-cache key chain, in pure Python: identical bytes to the C++ helper
(include/unicache/token_hash.h). Specification: docs/KV.md, "Hash chain".

    root    = SHA-256("unicache-kv-chain-v1" || lp(model) || lp(salt) || lp(extra))[:16]
    block_i = SHA-256(block_{i-1} || u32le(n) || n x u32le(token) || lp(block_extra_i))[:16]
    lp(x)   = u32le(len(x)) || x            (strings are UTF-8)

One key per full block of `block_tokens` tokens (plus the trailing partial block when
include_partial). Test vectors: tests/kv_hash_vectors.json.
"""
import hashlib
import struct

DOMAIN = b"unicache-kv-chain-v1"
HASH_BYTES = 16


def _b(x):
    if x is None:
        return b""
    return x.encode("utf-8") if isinstance(x, str) else bytes(x)


def _lp(x):
    x = _b(x)
    return struct.pack("<I", len(x)) + x


def chain_root(model, salt=b"", extra=b""):
    """Returns the 16-byte root of the chain."""
    return hashlib.sha256(DOMAIN + _lp(model) + _lp(salt) + _lp(extra)).digest()[:HASH_BYTES]


def block_hash(parent, tokens, block_extra=b""):
    """Returns the 16-byte hash of one block of token ids (each 0 <= t < 2**32)."""
    tokens = [int(t) for t in tokens]
    h = hashlib.sha256()
    h.update(bytes(parent))
    h.update(struct.pack("<I", len(tokens)))
    h.update(struct.pack("<%dI" % len(tokens), *tokens))
    h.update(_lp(block_extra))
    return h.digest()[:HASH_BYTES]


def block_hashes(tokens, model, block_tokens=256, salt=b"", extra=b"", include_partial=False,
                 block_extras=()):
    """Returns the list of 16-byte block keys for `tokens` (a list, array or numpy array)."""
    if block_tokens <= 0:
        return []
    tokens = list(tokens)
    parent = chain_root(model, salt, extra)
    out = []
    for i, start in enumerate(range(0, len(tokens), block_tokens)):
        chunk = tokens[start:start + block_tokens]
        if len(chunk) < block_tokens and not include_partial:
            break
        extra_i = block_extras[i] if i < len(block_extras) else b""
        parent = block_hash(parent, chunk, extra_i)
        out.append(parent)
    return out

"""Inference KV cache (issue #6) on a real 3-node cluster on 127.0.0.1: batch semantics, prefix
match stopping at the first miss, quotas, TTL, leases, publish atomicity, node death, and the
hash-chain test vectors (the same JSON the C++ unit test checks)."""
import json
import os
import sys
import threading
import time

import pytest

from conftest import http_get

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
from unicache.kv import KvClient, KvError, OK, NOT_FOUND, INVALID, QUOTA  # noqa: E402
from unicache import token_hash  # noqa: E402
from unicache.hicache import UnicacheHiCacheStore  # noqa: E402

NS = ["m=64MiB", "small=1MiB", "ttl=16MiB,ttl=1s"]


@pytest.fixture
def cluster(make_kv_cluster):
    return make_kv_cluster(NS)


def keys_for(n, tag="k"):
    return [f"{tag}-{i}".encode() for i in range(n)]


def value_for(key, size=1000):
    return (key * (size // len(key) + 1))[:size]


def test_single_put_get_delete_from_any_node(cluster):
    a, b, c = (KvClient(f"127.0.0.1:{n.port}") for n in cluster)
    assert a.put("m", b"hello", b"world") is True
    assert a.put("m", b"hello", b"other") is False  # immutable: the first value stays
    for cl in (a, b, c):
        assert cl.get("m", b"hello") == b"world"
    st, h, _ = http_get(f"{cluster[1].url}/v1/kv/m/{b'hello'.hex()}")
    assert st == 200 and h["x-unicache-cache"] in ("hit", "peer") and "etag" in h
    assert h["x-unicache-key"] == b"hello".hex()  # the answer names its key
    assert b.delete("m", b"hello") is True
    assert c.get("m", b"hello") is None
    st, _, _ = http_get(f"{cluster[0].url}/v1/kv/m/{b'nope'.hex()}")
    assert st == 404


def test_batch_semantics_request_order_and_partial_hits(cluster):
    cl = KvClient(f"127.0.0.1:{cluster[0].port}")
    keys = keys_for(60)
    present = keys[::2]
    assert cl.batch_put("m", present, [value_for(k) for k in present]) == [OK] * len(present)
    got = cl.batch_get("m", keys)
    for i, k in enumerate(keys):
        assert got[i] == (value_for(k) if i % 2 == 0 else None)
    assert cl.batch_exists("m", keys) == [i % 2 == 0 for i in range(60)]
    # Reads straight into caller buffers (numpy), from another node.
    import numpy as np
    outs = [np.zeros(2000, dtype=np.uint8) for _ in keys]
    lens = KvClient(f"127.0.0.1:{cluster[2].port}").batch_get("m", keys, outs=outs)
    for i, k in enumerate(keys):
        if i % 2 == 0:
            assert lens[i] == 1000 and outs[i][:1000].tobytes() == value_for(k)
        else:
            assert lens[i] == -1
    # Keys are spread over the three owners.
    counts = [sum(ns["keys"] for ns in node["namespaces"] if ns["name"] == "m")
              for node in cl.stats()["nodes"]]
    assert len(counts) == 3 and all(c > 0 for c in counts), counts


def test_prefix_match_stops_at_first_miss_cluster_wide(cluster):
    cl = KvClient(f"127.0.0.1:{cluster[1].port}")
    keys = token_hash.block_hashes(list(range(256 * 40)), "model-x", 256)
    assert len(keys) == 40
    assert cl.prefix_match("m", keys) == (0, None)
    cl.batch_put("m", keys[:25], [b"v" * 100] * 25)
    cl.batch_put("m", keys[26:], [b"v" * 100] * 14)  # a hole at 25
    assert cl.prefix_match("m", keys)[0] == 25
    assert cl.prefix_match("m", keys[:10])[0] == 10
    assert cl.prefix_match("m", keys[25:])[0] == 0
    # Prefix match has no side effects: nothing was read or created.
    assert cl.batch_exists("m", [keys[25]]) == [False]


def test_bad_input_clear_errors_nothing_written(cluster):
    cl = KvClient(f"127.0.0.1:{cluster[0].port}")
    with pytest.raises(KvError) as e:
        cl.put("nope", b"k", b"v")
    assert e.value.status == 404 and "unknown KV namespace" in e.value.message
    with pytest.raises(KvError) as e:
        cl.put("m", b"big", b"x" * ((64 << 20) + 1))
    assert e.value.status == 413
    assert cl.get("m", b"big") is None
    st, _, body = http_get(f"{cluster[0].url}/v1/kv/m/", method="PUT")
    assert st == 400 and b"empty key" in body
    st, _, _ = http_get(f"{cluster[0].url}/v1/kv/m/zz-not-hex")
    assert st == 400
    # Batch: per-item errors, the rest written.
    statuses = cl.batch_put("m", [b"good", b"", b"x" * 2000], [b"1", b"2", b"3"])
    assert statuses == [OK, INVALID, INVALID]
    assert cl.get("m", b"good") == b"1"
    # Malformed batch body.
    import urllib.request
    req = urllib.request.Request(f"{cluster[0].url}/v1/kv/m/batch-get", data=b"garbage", method="POST")
    with pytest.raises(urllib.error.HTTPError) as he:
        urllib.request.urlopen(req)
    assert he.value.code == 400


def test_quota_evicts_within_namespace_and_rejects_oversized(cluster):
    cl = KvClient(f"127.0.0.1:{cluster[0].port}")
    cl.put("m", b"other-ns", b"stays")
    keys = keys_for(100, "q")
    for i in range(0, 100, 20):
        cl.batch_put("small", keys[i:i + 20], [b"z" * 64 * 1024] * 20)  # 6.4 MiB into 3x1 MiB
    for node in cl.stats()["nodes"]:
        small = next(ns for ns in node["namespaces"] if ns["name"] == "small")
        assert small["bytes"] <= small["quota_bytes"]
        assert small["evictions"] > 0
    hits = sum(v is not None for v in cl.batch_get("small", keys))
    assert 0 < hits < 100  # evicted keys are clean misses
    assert cl.get("m", b"other-ns") == b"stays"
    with pytest.raises(KvError) as e:
        cl.put("small", b"too-big", b"x" * ((1 << 20) + 1))
    assert e.value.status == 507 and e.value.code == "resource_exhausted"
    assert e.value.detail == "quota_exceeded"
    assert cl.batch_put("small", [b"too-big"], [b"x" * ((1 << 20) + 1)]) == [QUOTA]


def test_ttl_default_and_per_put(cluster):
    cl = KvClient(f"127.0.0.1:{cluster[2].port}")
    cl.put("ttl", b"default", b"1")          # namespace default: 1 s
    cl.put("ttl", b"long", b"2", ttl=30)
    cl.put("m", b"short", b"3", ttl=0.3)
    cl.batch_put("m", [b"bshort"], [b"4"], ttl_ms=300)
    assert cl.get("m", b"short") == b"3"
    time.sleep(1.5)
    assert cl.get("ttl", b"default") is None
    assert cl.get("ttl", b"long") == b"2"
    assert cl.get("m", b"short") is None
    assert cl.batch_get("m", [b"bshort"]) == [None]


def test_lease_holds_against_eviction_then_expires(cluster):
    cl = KvClient(f"127.0.0.1:{cluster[0].port}")
    prefix = keys_for(6, "lease")
    cl.batch_put("small", prefix, [b"p" * 100 * 1024] * 6)
    n, lease = cl.prefix_match("small", prefix, lease_ms=1500)
    assert n == 6 and lease
    # Eviction pressure: 30 MiB through 3 x 1 MiB quotas.
    for i in range(15):
        flood = keys_for(20, f"flood{i}")
        cl.batch_put("small", flood, [b"f" * 100 * 1024] * 20)
    assert cl.batch_exists("small", prefix) == [True] * 6
    got = cl.batch_get("small", prefix)
    assert all(v == b"p" * 100 * 1024 for v in got)
    time.sleep(2.5)  # the lease expires (the sweeper runs every second)
    pinned = [ns["pinned_bytes"] for node in cl.stats()["nodes"] for ns in node["namespaces"]]
    assert sum(pinned) == 0
    # Values of 900 KiB need (almost) a whole 1 MiB quota: the old prefix must go now.
    flood = keys_for(30, "big")
    assert cl.batch_put("small", flood, [b"g" * 900 * 1024] * 30) == [OK] * 30
    assert cl.batch_exists("small", prefix) == [False] * 6


def test_lease_released_by_read_and_by_release(cluster):
    cl = KvClient(f"127.0.0.1:{cluster[1].port}")
    prefix = keys_for(9, "rl")
    cl.batch_put("m", prefix, [b"v"] * 9)
    n, lease = cl.prefix_match("m", prefix, lease_ms=60000)
    assert n == 9
    def pinned():
        return sum(ns["pinned_bytes"] for node in cl.stats()["nodes"] for ns in node["namespaces"])
    assert pinned() > 0
    assert cl.batch_get("m", prefix, lease=lease) == [b"v"] * 9
    assert pinned() == 0
    n, lease = cl.prefix_match("m", prefix, lease_ms=60000)
    assert cl.release("m", lease) is True
    assert pinned() == 0


def test_publish_atomicity_under_concurrent_put_get(cluster):
    size = 4 << 20
    keys = keys_for(8, "atom")
    errors = []
    stop = threading.Event()

    def reader(port):
        cl = KvClient(f"127.0.0.1:{port}")
        while not stop.is_set():
            for v in cl.batch_get("m", keys):
                if v is not None and (len(v) != size or v.count(v[:1]) != size):
                    errors.append("partial or mixed value")
            v = cl.get("m", keys[0])
            if v is not None and (len(v) != size or v.count(v[:1]) != size):
                errors.append("partial single value")

    def writer(tag):
        cl = KvClient(f"127.0.0.1:{cluster[tag % 3].port}")
        for k in keys:
            cl.put("m", k, bytes([65 + tag]) * size)

    readers = [threading.Thread(target=reader, args=(n.port,)) for n in cluster]
    for t in readers:
        t.start()
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    vals = KvClient(f"127.0.0.1:{cluster[0].port}").batch_get("m", keys)
    assert all(v is not None and len(v) == size for v in vals)


def test_node_death_keys_become_misses(cluster):
    cl = KvClient(f"127.0.0.1:{cluster[0].port}")
    keys = keys_for(90, "death")
    cl.batch_put("m", keys, [value_for(k, 200) for k in keys])
    assert all(v is not None for v in cl.batch_get("m", keys))
    cluster[2].kill()
    got = cl.batch_get("m", keys)
    hits = [v for v in got if v is not None]
    assert 0 < len(hits) < 90  # the dead node's keys are misses, the rest still served
    for k, v in zip(keys, got):
        assert v is None or v == value_for(k, 200)
    exists = cl.batch_exists("m", keys)
    assert exists == [v is not None for v in got]
    first_dead = next(i for i, v in enumerate(got) if v is None)
    assert cl.prefix_match("m", keys)[0] == first_dead
    # Writes keep working: keys owned by the dead node go to the next candidate.
    assert cl.batch_put("m", keys, [value_for(k, 200) for k in keys]) == [OK] * 90
    assert all(v is not None for v in cl.batch_get("m", keys))
    assert cl.get("m", keys[first_dead]) == value_for(keys[first_dead], 200)


def test_hicache_adapter(cluster):
    store = UnicacheHiCacheStore(f"127.0.0.1:{cluster[0].port}", namespace="m")
    keys = [k.hex() for k in token_hash.block_hashes(list(range(64)), "hc", 16)]
    assert store.batch_exists(keys) == 0
    assert store.batch_set(keys[:3], [b"a" * 10, b"b" * 10, b"c" * 10]) is True
    assert store.batch_exists(keys) == 3
    assert store.batch_get(keys) == [b"a" * 10, b"b" * 10, b"c" * 10, None]
    assert store.exists(keys[0]) and not store.exists(keys[3])
    assert store.get(keys[1]) == b"b" * 10 and store.set(keys[3], b"d")


def test_hash_chain_vectors_python_equals_json():
    doc = json.load(open(os.path.join(ROOT, "tests", "kv_hash_vectors.json")))
    assert len(doc["vectors"]) >= 5
    for v in doc["vectors"]:
        assert token_hash.chain_root(v["model"], v["salt"], v["extra"]).hex() == v["root"]
        keys = token_hash.block_hashes(v["tokens"], v["model"], v["block_tokens"], v["salt"],
                                       v["extra"], v["include_partial"],
                                       [e.encode() for e in v["block_extras"]])
        assert [k.hex() for k in keys] == v["keys"], v["name"]


def test_hash_chain_cli_matches_python(cluster):
    """The C++ helper, through `unicache kv hash`, gives the same keys as Python."""
    import subprocess
    from conftest import BIN
    tokens = list(range(100, 100 + 64))
    out = subprocess.run([BIN, "kv", "hash", "--model", "m1", "--block-tokens", "16", "--salt", "s",
                          ",".join(map(str, tokens))], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [k.hex() for k in token_hash.block_hashes(tokens, "m1", 16, "s")]


def test_cli_put_get_ls_stats(cluster, tmp_path):
    import subprocess
    from conftest import BIN
    peers = f"127.0.0.1:{cluster[0].port}"
    src = tmp_path / "v.bin"
    src.write_bytes(os.urandom(300000))
    run = lambda *a: subprocess.run([BIN, "kv", *a, "--peers", peers], capture_output=True)
    assert run("put", "m", "abcd", str(src)).returncode == 0
    dst = tmp_path / "out.bin"
    assert run("get", "m", "abcd", "-o", str(dst)).returncode == 0
    assert dst.read_bytes() == src.read_bytes()
    ls = run("ls", "m")
    assert ls.returncode == 0 and b"abcd" in ls.stdout
    st = run("stats")
    assert st.returncode == 0 and b"m" in st.stdout
    miss = run("get", "m", "ffff")
    assert miss.returncode != 0 and b"not" in miss.stderr.lower()


def test_an_answer_for_another_key_is_never_a_value(tmp_path):
    """A server that answers a GET with another key's value (a stray response on a shared
    connection, a confused proxy): the Python client and the C++ client (`unicache kv get`)
    refuse it as a transport error, and nothing is written."""
    import subprocess
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from conftest import BIN

    class WrongKey(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"someone else's value"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Unicache-Key", b"other".hex())
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), WrongKey)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        peers = f"127.0.0.1:{server.server_address[1]}"
        with pytest.raises(KvError) as e:
            KvClient(peers).get("m", b"mine")
        assert e.value.code == "unavailable"
        out = tmp_path / "value.bin"
        p = subprocess.run([BIN, "kv", "get", "m", b"mine".hex(), "--peers", peers, "-o", str(out)],
                           capture_output=True, timeout=30)
        assert p.returncode != 0 and b"not the one asked for" in p.stderr, p.stderr
        assert not out.exists() or out.read_bytes() == b""
    finally:
        server.shutdown()

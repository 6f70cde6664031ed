"""The KV cache's shared-memory path (issue #6, docs/KV.md "Shared-memory path") on a real
3-node cluster on 127.0.0.1: a Python client registers a memfd with its local node over the
node's Unix socket, puts and gets values by offset, and sees the same values as HTTP clients of
other nodes (keys owned elsewhere travel between nodes, not through the client). Bad input:
buffers outside the region, unknown namespaces, a segment without the shrink seal, garbage
frames: a clear error, the node keeps serving and nothing is written."""
import os
import socket
import struct
import sys
import threading

import pytest


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
from unicache.kv import KvClient, KvError, OK, QUOTA  # noqa: E402
from unicache.kv_local import LocalKvClient  # noqa: E402

NS = ["m=64MiB", "small=1MiB"]
MiB = 1 << 20


@pytest.fixture
def cluster(make_kv_cluster):
    return make_kv_cluster(NS)


def sock_of(node):
    return os.path.join(node.cache_dir, "kv.sock")


def pattern(i, n):
    return bytes((i * 7 + j) & 0xFF for j in range(251)) * (n // 251) + bytes(n % 251)


def test_put_and_get_by_offset_match_http_on_other_nodes(cluster):
    keys = [f"blk-{i}".encode() for i in range(24)]
    size = 256 * 1024
    with LocalKvClient(sock_of(cluster[0]), 2 * len(keys) * size) as kv:
        pool = kv.array()
        vals = [pool[i * size:(i + 1) * size] for i in range(len(keys))]
        for i, v in enumerate(vals):
            v[:] = memoryview(pattern(i, size))
        assert kv.batch_put("m", keys, vals) == [OK] * len(keys)
        # Values owned by the other nodes are readable over HTTP from them.
        http = KvClient(f"127.0.0.1:{cluster[2].port}")
        for i, k in enumerate(keys):
            assert http.get("m", k) == pattern(i, size)
        # Gets land straight in the region, in request order, misses are -1.
        base = len(keys) * size
        outs = [pool[base + i * size:base + (i + 1) * size] for i in range(len(keys))]
        ask = keys[:12] + [b"absent"] + keys[12:]
        outs = outs[:12] + [pool[0:16]] + outs[12:]
        assert len(ask) == len(outs)
        got = kv.batch_get("m", ask, outs)
        assert got[12] == -1
        for j, k in enumerate(ask):
            if k == b"absent":
                continue
            i = keys.index(k)
            assert got[j] == size
            assert outs[j].tobytes() == pattern(i, size)


def test_http_puts_are_visible_through_the_segment(cluster):
    http = KvClient(f"127.0.0.1:{cluster[1].port}")
    http.batch_put("m", [b"a", b"b", b"c"], [b"A" * 1000, b"B" * 2000, b"C" * 3000])
    with LocalKvClient(sock_of(cluster[2]), MiB) as kv:
        pool = kv.array()
        assert kv.batch_exists("m", [b"a", b"b", b"x", b"c"]) == [True, True, False, True]
        assert kv.get("m", b"b", pool[10:5000]) == 2000
        assert pool[10:2010].tobytes() == b"B" * 2000
        assert kv.get("m", b"x", pool[0:10]) is None


def test_prefix_match_stops_at_first_miss_and_lease_pins(cluster):
    keys = [f"p-{i}".encode() for i in range(40)]
    with LocalKvClient(sock_of(cluster[0]), MiB) as kv:
        pool = kv.array()
        pool[:100] = 3
        assert kv.batch_put("m", keys[:25], [pool[0:100]] * 25) == [OK] * 25
        matched, lease = kv.prefix_match("m", keys)
        assert matched == 25 and lease is None
        matched, lease = kv.prefix_match("m", keys, lease_ms=5000)
        assert matched == 25 and lease
        assert kv.release("m", lease) is True
        assert kv.release("m", lease) is False
        # A hole in the middle: the match stops there.
        KvClient(f"127.0.0.1:{cluster[1].port}").delete("m", keys[7])
        assert kv.prefix_match("m", keys)[0] == 7


def test_small_buffer_is_reported_and_quota_is_per_item(cluster):
    with LocalKvClient(sock_of(cluster[0]), 4 * MiB) as kv:
        pool = kv.array()
        assert kv.batch_put("m", [b"big"], [pool[0:10000]]) == [OK]
        with pytest.raises(KvError) as e:
            kv.get("m", b"big", pool[20000:20100])
        assert e.value.code == "resource_exhausted"
        # 2 MiB cannot fit a 1 MiB namespace: that item fails, the others land.
        st = kv.batch_put("small", [b"s1", b"huge", b"s2"],
                          [pool[0:100], pool[0:2 * MiB], pool[100:200]])
        assert st == [OK, QUOTA, OK]
        assert KvClient(f"127.0.0.1:{cluster[1].port}").batch_exists(
            "small", [b"s1", b"huge", b"s2"]) == [True, False, True]


def test_bad_input_gets_clear_errors_and_nothing_is_written(cluster):
    with LocalKvClient(sock_of(cluster[0]), MiB) as kv:
        with pytest.raises(ValueError):
            kv.batch_put("m", [b"k"], [bytearray(10)])  # not inside the region
        with pytest.raises(KvError) as e:
            kv.batch_put("nope", [b"k"], [kv.array()[0:10]])
        assert e.value.code == "not_found" and "--kv-namespace" in str(e.value)
        # Empty keys are refused per item; the node keeps serving on this connection.
        assert kv.batch_put("m", [b"", b"ok"], [kv.array()[0:10]] * 2)[1] == OK
        assert kv.batch_exists("m", [b"", b"ok"]) == [False, True]
        assert KvClient(f"127.0.0.1:{cluster[0].port}").batch_exists("m", [b"k"]) == [False]


def raw_connect(node):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_of(node))
    return s


def read_answer(s):
    head = b""
    while len(head) < 4:
        c = s.recv(4 - len(head))
        if not c:
            return None
        head += c
    (n,) = struct.unpack("<I", head)
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            return None
        body += c
    return body


def test_unsealed_segment_and_garbage_frames_are_refused(cluster):
    # A memfd without F_SEAL_SHRINK could be truncated under the node: refused.
    fd = os.memfd_create("unsealed", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, 4096)
    s = raw_connect(cluster[0])
    payload = struct.pack("<BQ", 1, 4096)
    socket.send_fds(s, [struct.pack("<I", len(payload)) + payload], [fd])
    ans = read_answer(s)
    assert ans is not None and ans[0] != 0 and b"seal" in ans
    s.close()
    os.close(fd)
    # A request before any segment is registered, and a frame of garbage.
    for frame in (struct.pack("<I", 3) + b"\x02\x00\x00", struct.pack("<I", 5) + b"\xff" * 5):
        s = raw_connect(cluster[0])
        s.sendall(frame)
        ans = read_answer(s)
        assert ans is None or ans[0] != 0
        s.close()
    # An absurd frame length is refused without the node allocating it.
    s = raw_connect(cluster[0])
    s.sendall(struct.pack("<I", 0xFFFFFFFF))
    ans = read_answer(s)
    assert ans is None or ans[0] != 0
    s.close()
    # The node still serves shared-memory clients.
    with LocalKvClient(sock_of(cluster[0]), 4096) as kv:
        assert kv.batch_exists("m", [b"zz"]) == [False]


def test_concurrent_clients_never_see_partial_values(cluster):
    size = 1 * MiB
    errors = []

    def writer(i):
        try:
            with LocalKvClient(sock_of(cluster[i % 3]), size) as kv:
                pool = kv.array()
                pool[:] = i & 0xFF
                for r in range(8):
                    kv.put("m", f"w{i}-{r}".encode(), pool[0:size])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def reader(i):
        try:
            with LocalKvClient(sock_of(cluster[(i + 1) % 3]), size) as kv:
                pool = kv.array()
                for _ in range(40):
                    for w in range(4):
                        for r in range(8):
                            n = kv.get("m", f"w{w}-{r}".encode(), pool[0:size])
                            if n is not None:
                                assert n == size
                                assert (pool == (w & 0xFF)).all()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    ts += [threading.Thread(target=reader, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors


def test_node_death_turns_its_keys_into_misses(cluster):
    keys = [f"d-{i}".encode() for i in range(30)]
    with LocalKvClient(sock_of(cluster[0]), MiB) as kv:
        pool = kv.array()
        pool[:64] = 9
        assert kv.batch_put("m", keys, [pool[0:64]] * len(keys)) == [OK] * len(keys)
        cluster[2].stop()
        got = kv.batch_get("m", keys, [pool[1000 + 64 * i:1064 + 64 * i] for i in range(30)])
        hits = [g for g in got if g == 64]
        assert 0 < len(hits) < len(keys)  # the dead node's keys miss, the rest still hit
        assert all(g in (64, -1) for g in got)
        assert kv.batch_exists("m", keys).count(True) == len(hits)
        # The live owners still take new values.
        assert kv.batch_put("m", [b"after"], [pool[0:64]]) == [OK]


def test_hicache_adapter_uses_the_shared_pool(cluster):
    from unicache.hicache import UnicacheHiCacheStore
    store = UnicacheHiCacheStore(f"127.0.0.1:{cluster[0].port}", "m", local_socket=sock_of(cluster[0]),
                                 pool_bytes=MiB)
    try:
        pool = store.host_pool()
        pages = [pool[i * 4096:(i + 1) * 4096] for i in range(8)]
        for i, p in enumerate(pages[:4]):
            p[:] = i + 1
        before = cluster[0].metrics()
        assert store.batch_set(["h0", "h1", "h2"], target_locations=pages[:3])
        assert store.batch_exists(["h0", "h1", "h2", "h3"]) == 3
        got = store.batch_get(["h0", "h1", "h3"], target_locations=pages[4:7])
        assert got[0] is pages[4] and got[2] is None
        assert (pages[4] == 1).all() and (pages[5] == 2).all()
        after = cluster[0].metrics()

        def local_bytes(text, direction):
            for line in text.splitlines():
                if line.startswith(f'unicache_kv_local_bytes_total{{direction="{direction}"}}'):
                    return float(line.split()[-1])
            return 0.0
        # The values went through the shared region, not HTTP.
        assert local_bytes(after, "in") - local_bytes(before, "in") >= 3 * 4096
        assert local_bytes(after, "out") - local_bytes(before, "out") >= 2 * 4096
        # Buffers outside the pool still work, over HTTP.
        assert store.batch_set(["h9"], [b"z" * 100])
        assert store.get("h9") == b"z" * 100
    finally:
        store.close()

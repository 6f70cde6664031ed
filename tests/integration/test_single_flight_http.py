"""Single-flight over HTTP: a cold file read by 32 clients at once is read from the origin once."""
import hashlib
import threading

import requests

from conftest import metric, object_url, write_random

SIZE = 32 << 20
CLIENTS = 32


def test_32_clients_one_origin_read(tmp_path, make_node):
    origin = tmp_path / "origin"
    data = write_random(origin / "big.bin", SIZE, seed=7)
    want = hashlib.sha256(data).hexdigest()
    node = make_node(str(origin), extra=["--block-size", "4MiB", "--ram", "1GiB"])

    barrier = threading.Barrier(CLIENTS)
    results = [None] * CLIENTS

    def client(i):
        barrier.wait()
        try:
            r = requests.get(object_url(node, "big.bin"), timeout=120)
            results[i] = (r.status_code, hashlib.sha256(r.content).hexdigest(), len(r.content))
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = ("error", repr(e), 0)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, res in enumerate(results):
        assert res == (200, want, SIZE), (i, res)

    m = node.metrics()
    assert metric(m, 'unicache_origin_bytes_total{origin="data"}') == SIZE
    assert metric(m, 'unicache_origin_errors_total{origin="data"}') == 0
    # Every other block read joined a fetch in flight or found the block cached; which of the
    # two depends on how the clients' requests overlap, which the scheduler decides.
    blocks_read = CLIENTS * (SIZE // (4 << 20))
    shared = (metric(m, "unicache_singleflight_coalesced_total")
              + metric(m, 'unicache_cache_hits_total{tier="ram"}'))
    assert shared >= blocks_read - SIZE // (4 << 20), shared
    # One read per block (the byte count above proves no block was read twice) plus the stats;
    # a stat that just misses the shared one may run again, so allow a few.
    blocks = SIZE // (4 << 20)
    assert blocks + 1 <= metric(m, 'unicache_origin_requests_total{origin="data"}') <= blocks + 4
    assert metric(m, "unicache_served_bytes_total") >= CLIENTS * SIZE

    # Everyone again, now hot: still no origin traffic.
    r = requests.get(object_url(node, "big.bin"), timeout=120)
    assert hashlib.sha256(r.content).hexdigest() == want
    assert r.headers["X-Unicache-Cache"] == "hit"
    assert metric(node.metrics(), 'unicache_origin_bytes_total{origin="data"}') == SIZE


def test_concurrent_ranges_of_one_cold_block(tmp_path, make_node):
    """Clients asking for different ranges inside the same cold block share its fetch."""
    origin = tmp_path / "origin"
    data = write_random(origin / "blk.bin", 4 << 20, seed=8)
    node = make_node(str(origin), extra=["--block-size", "4MiB"])
    barrier = threading.Barrier(16)
    bad = []

    def client(i):
        first = i * 200_000
        last = first + 100_000
        barrier.wait()
        r = requests.get(object_url(node, "blk.bin"), headers={"Range": f"bytes={first}-{last}"}, timeout=60)
        if r.status_code != 206 or r.content != data[first:last + 1]:
            bad.append(i)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad
    assert metric(node.metrics(), 'unicache_origin_bytes_total{origin="data"}') == len(data)

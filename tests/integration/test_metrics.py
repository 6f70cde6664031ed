"""/metrics: every documented series exists with the right type, and moves as reads happen."""
import re

import requests

from conftest import metric, metric_types, object_url, write_random

BS = 64 * 1024

EXPECTED_TYPES = {
    "unicache_requests_total": "counter",
    "unicache_served_bytes_total": "counter",
    "unicache_cache_hits_total": "counter",
    "unicache_cache_misses_total": "counter",
    "unicache_origin_requests_total": "counter",
    "unicache_origin_bytes_total": "counter",
    "unicache_origin_errors_total": "counter",
    "unicache_singleflight_coalesced_total": "counter",
    "unicache_tier_bytes": "gauge",
    "unicache_tier_capacity_bytes": "gauge",
    "unicache_evictions_total": "counter",
    "unicache_request_seconds": "histogram",
}

SERIES_LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? -?[0-9.eE+\-]+|NaN|\+Inf$')


def scrape(node):
    r = requests.get(node.url + "/metrics", timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    return r.text


def test_names_types_and_format(tmp_path, make_node):
    write_random(tmp_path / "origin" / "f.bin", 1000)
    node = make_node(str(tmp_path / "origin"), extra=["--block-size", "64KiB"])
    requests.get(object_url(node, "f.bin"), timeout=30)
    text = scrape(node)
    types = metric_types(text)
    for name, kind in EXPECTED_TYPES.items():
        assert types.get(name) == kind, (name, types.get(name))
        assert f"# HELP {name} " in text, name
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert SERIES_LINE.match(line), line
            base = re.split(r"[{ ]", line)[0]
            family = re.sub(r"_(bucket|sum|count)$", "", base)
            assert base in types or family in types, line
    for tier in ("ram", "ssd"):
        for name in ("unicache_cache_hits_total", "unicache_tier_bytes", "unicache_tier_capacity_bytes",
                     "unicache_evictions_total"):
            assert f'{name}{{tier="{tier}"}} ' in text, (name, tier)
    for name in ("unicache_origin_requests_total", "unicache_origin_bytes_total", "unicache_origin_errors_total"):
        assert f'{name}{{origin="data"}} ' in text, name
    assert 'unicache_requests_total{frontend="native",code="200"} ' in text
    assert 'unicache_request_seconds_bucket{frontend="native",le="+Inf"} ' in text
    assert 'unicache_request_seconds_count{frontend="native"} ' in text
    # Histogram buckets are cumulative and end with the count.
    buckets = [float(l.split()[-1]) for l in text.splitlines()
               if l.startswith('unicache_request_seconds_bucket{frontend="native"')]
    assert buckets == sorted(buckets)
    assert buckets[-1] == metric(text, 'unicache_request_seconds_count{frontend="native"}')


def test_values_move_with_cold_and_hot_reads(tmp_path, make_node):
    size = 5 * BS + 100  # 6 blocks
    blocks = 6
    data = write_random(tmp_path / "origin" / "f.bin", size)
    node = make_node(str(tmp_path / "origin"), extra=["--block-size", "64KiB", "--readahead", "0"])
    m0 = scrape(node)
    for series in ('unicache_origin_bytes_total{origin="data"}', "unicache_cache_misses_total",
                   'unicache_cache_hits_total{tier="ram"}'):
        assert metric(m0, series) == 0, series
    # Served bytes count every response body (health checks and scrapes too), so compare
    # deltas: the object's bytes plus the previous scrape's body.
    served0 = metric(m0, "unicache_served_bytes_total")

    # Cold read: every block missed and read from the origin once.
    r = requests.get(object_url(node, "f.bin"), timeout=30)
    assert r.content == data and r.headers["X-Unicache-Cache"] == "miss"
    m1 = scrape(node)
    assert metric(m1, 'unicache_origin_bytes_total{origin="data"}') == size
    assert metric(m1, "unicache_cache_misses_total") == blocks
    assert metric(m1, 'unicache_origin_requests_total{origin="data"}') == blocks + 1  # + one stat
    assert metric(m1, 'unicache_origin_errors_total{origin="data"}') == 0
    assert metric(m1, "unicache_served_bytes_total") == served0 + size + len(m0.encode())
    assert metric(m1, 'unicache_requests_total{frontend="native",code="200"}') == 1
    assert metric(m1, 'unicache_tier_bytes{tier="ram"}') >= size

    # Hot read: hits only, nothing from the origin.
    r = requests.get(object_url(node, "f.bin"), timeout=30)
    assert r.content == data and r.headers["X-Unicache-Cache"] == "hit"
    m2 = scrape(node)
    hits = metric(m2, 'unicache_cache_hits_total{tier="ram"}') + metric(m2, 'unicache_cache_hits_total{tier="ssd"}')
    hits1 = metric(m1, 'unicache_cache_hits_total{tier="ram"}') + metric(m1, 'unicache_cache_hits_total{tier="ssd"}')
    assert hits - hits1 == blocks
    assert metric(m2, "unicache_cache_misses_total") == blocks
    assert metric(m2, 'unicache_origin_bytes_total{origin="data"}') == size
    assert metric(m2, "unicache_served_bytes_total") == \
        metric(m1, "unicache_served_bytes_total") + size + len(m1.encode())
    assert metric(m2, 'unicache_requests_total{frontend="native",code="200"}') == 2
    assert metric(m2, 'unicache_request_seconds_count{frontend="native"}') >= 2

    # A range, a 404 and a 416 are counted by code; a 404 is not an origin error.
    requests.get(object_url(node, "f.bin"), headers={"Range": "bytes=10-19"}, timeout=30)
    requests.get(object_url(node, "missing.bin"), timeout=30)
    requests.get(object_url(node, "f.bin"), headers={"Range": f"bytes={size}-"}, timeout=30)
    m3 = scrape(node)
    assert metric(m3, 'unicache_requests_total{frontend="native",code="206"}') == 1
    assert metric(m3, 'unicache_requests_total{frontend="native",code="404"}') == 1
    assert metric(m3, 'unicache_requests_total{frontend="native",code="416"}') == 1
    assert metric(m3, 'unicache_origin_errors_total{origin="data"}') == 0
    assert metric(m3, "unicache_served_bytes_total") > metric(m2, "unicache_served_bytes_total") + 10

    # Tiers never exceed their capacity.
    for tier in ("ram", "ssd"):
        assert 0 <= metric(m3, f'unicache_tier_bytes{{tier="{tier}"}}') <= \
            metric(m3, f'unicache_tier_capacity_bytes{{tier="{tier}"}}'), tier


def test_small_ram_tier_evicts_and_stays_within_capacity(tmp_path, make_node):
    files = {f"f{i}.bin": write_random(tmp_path / "origin" / f"f{i}.bin", 4 * BS, seed=i) for i in range(6)}
    node = make_node(str(tmp_path / "origin"),
                     extra=["--block-size", "64KiB", "--ram", "256KiB", "--ssd", "1MiB", "--readahead", "0"])
    for _ in range(2):
        for name, data in files.items():
            assert requests.get(object_url(node, name), timeout=30).content == data
            m = scrape(node)
            for tier in ("ram", "ssd"):
                assert metric(m, f'unicache_tier_bytes{{tier="{tier}"}}') <= \
                    metric(m, f'unicache_tier_capacity_bytes{{tier="{tier}"}}'), (tier, m)
    m = scrape(node)
    assert metric(m, 'unicache_tier_capacity_bytes{tier="ram"}') == 256 * 1024
    assert metric(m, 'unicache_tier_capacity_bytes{tier="ssd"}') == 1024 * 1024
    assert metric(m, 'unicache_evictions_total{tier="ram"}') > 0


def test_promtool_accepts_the_exposition(tmp_path, make_node):
    """`promtool check metrics` (Prometheus's own linter) on a node that has served reads, KV
    requests and the S3 endpoint: every family well-formed, help texts and names as Prometheus
    wants them."""
    import shutil
    import subprocess

    import pytest

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    from conftest import free_port
    origin = tmp_path / "origin"
    origin.mkdir()
    write_random(origin / "a.bin", 3 * BS + 5)
    keys = tmp_path / "keys"
    keys.write_text("AK SK *\n")
    keys.chmod(0o600)
    node = make_node(str(origin), extra=["--block-size", str(BS), "--kv-namespace", "ns=16MiB",
                                         "--s3-listen", f"127.0.0.1:{free_port()}", "--s3-keys", str(keys)])
    assert requests.get(object_url(node, "a.bin"), timeout=30).status_code == 200
    assert requests.put(node.url + "/v1/kv/ns/6b6579", data=b"v", timeout=30).status_code == 201
    text = scrape(node)
    r = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()

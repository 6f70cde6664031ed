"""An origin outage (issue #14): objects cached before the origin went down keep being served
past the metadata TTL (stale-if-error), marked stale and counted; never an object the origin
said changed or is gone; and with --stale-if-error 0 the outage is the client's error."""
import os
import time
import urllib.parse

import pytest

from conftest import http_get, metric, seeded_bytes
from nginx_server import NGINX, Nginx


@pytest.fixture
def site(tmp_path):
    if not os.path.exists(NGINX):
        pytest.skip("nginx is not installed")
    root = tmp_path / "www"
    (root / "data").mkdir(parents=True)
    (root / "ready.txt").write_text("ok")
    files = {"a.bin": seeded_bytes("a", 300 << 10), "b.bin": seeded_bytes("b", 5000),
             "c.bin": seeded_bytes("c", 7000)}
    for name, data in files.items():
        (root / "data" / name).write_bytes(data)
    servers = []

    def start(port=None):
        servers.append(Nginx(str(tmp_path), str(root), port))
        return servers[-1]
    yield start, root, files
    for s in servers:
        s.stop()


def get(node, name, headers=None):
    return http_get(f"{node.url}/v1/objects/web/{urllib.parse.quote(name)}", headers)


def stale_count(node):
    return metric(node.metrics(), 'unicache_stale_served_total{origin="web"}')


def test_cached_objects_are_served_stale_while_the_origin_is_down(site, make_node):
    start, root, files = site
    server = start()
    node = make_node(server.url("data/"), name="web",
                     extra=("--metadata-ttl", "1s", "--block-size", "64KiB"))
    for name, data in files.items():
        status, headers, body = get(node, name)
        assert status == 200 and body == data and headers["x-unicache-cache"] != "stale"
    # b.bin changes and the node learns it; c.bin is removed and the node learns it.
    (root / "data" / "b.bin").write_bytes(seeded_bytes("b2", 6000))
    os.utime(root / "data" / "b.bin", (time.time() + 5, time.time() + 5))
    os.remove(root / "data" / "c.bin")
    time.sleep(1.2)
    assert get(node, "b.bin")[2] == seeded_bytes("b2", 6000)
    assert get(node, "c.bin")[0] == 404
    server.stop()
    time.sleep(1.2)  # every metadata entry expired
    before = stale_count(node)
    for _ in range(2):
        status, headers, body = get(node, "a.bin")
        assert status == 200 and body == files["a.bin"], status
        assert headers["x-unicache-cache"] == "stale"
        status, headers, body = get(node, "a.bin", {"Range": "bytes=70000-70099"})
        assert status == 206 and body == files["a.bin"][70000:70100]
        assert headers["x-unicache-cache"] == "stale"
    status, headers, body = get(node, "b.bin")
    assert status == 200 and body == seeded_bytes("b2", 6000)  # the version it last saw
    assert headers["x-unicache-cache"] == "stale"
    status, _, _ = get(node, "c.bin")  # the origin said it is gone: not served from the past
    assert status in (404, 502, 504), status
    assert stale_count(node) - before == 5
    # An object never cached is the outage's error.
    status, _, body = get(node, "never.bin")
    assert status in (502, 504), (status, body[:200])
    # The origin comes back on its address: fresh answers again, no longer stale.
    start(port=server.port)
    status, headers, body = get(node, "a.bin")
    assert status == 200 and body == files["a.bin"] and headers["x-unicache-cache"] != "stale"

def test_stale_if_error_zero_fails_reads_during_an_outage(site, make_node):
    start, _, files = site
    server = start()
    node = make_node(server.url("data/"), name="web",
                     extra=("--metadata-ttl", "1s", "--stale-if-error", "0"))
    assert get(node, "a.bin")[2] == files["a.bin"]
    server.stop()
    time.sleep(1.2)
    status, _, body = get(node, "a.bin")
    assert status in (502, 504), (status, body[:200])
    assert stale_count(node) == 0

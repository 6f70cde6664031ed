"""A plain HTTP server (nginx) as a read-only origin: byte-exact cold and hot reads, ranges,
versions from ETag or Last-Modified+size, changes and removals after the metadata TTL, a signed
URL base, a server that refuses HEAD, a server that is down, and clear errors for listing,
mounting and writing."""
import http.client
import os
import subprocess
import time
import urllib.parse

import pytest

from conftest import BIN, http_get, seeded_bytes, sha256
from nginx_server import NGINX, Nginx

BLOCK = 256 << 10


@pytest.fixture
def web(tmp_path):
    if not os.path.exists(NGINX):
        pytest.skip("nginx is not installed")
    root = tmp_path / "www"
    for d in ("data", "noetag", "signed", "nohead"):
        (root / d / "sub").mkdir(parents=True)
    (root / "ready.txt").write_text("ok")
    files = {
        "big.bin": seeded_bytes("big", 5 * BLOCK + 777),
        "sub/small.txt": b"hello from nginx\n" * 10,
        "with space+plus.bin": seeded_bytes("name", 3000),
        "empty.bin": b"",
    }
    for d in ("data", "noetag", "signed", "nohead"):
        for name, data in files.items():
            (root / d / name).write_bytes(data)
    server = Nginx(str(tmp_path), str(root))
    yield server, root, files
    server.stop()


def obj(node, name):
    return f"{node.url}/v1/objects/web/{urllib.parse.quote(name)}"


@pytest.mark.parametrize("base", ["data", "noetag"])
def test_cold_and_hot_reads_are_byte_exact_and_hot_reads_stay_home(web, make_node, base):
    server, _, files = web
    node = make_node(server.url(base + "/"), name="web", extra=("--block-size", "256KiB"))
    for name, data in files.items():
        status, headers, body = http_get(obj(node, name))
        assert status == 200, (name, status, body[:200])
        assert sha256(body) == sha256(data), name
        assert int(headers["content-length"]) == len(data)
    before = server.requests()
    for name, data in files.items():
        status, _, body = http_get(obj(node, name))
        assert status == 200 and body == data, name
    assert server.requests() == before, "hot reads went to the origin"
    # Ranges, cold and hot, including the last partial block.
    data = files["big.bin"]
    for a, z in ((0, 0), (BLOCK - 5, BLOCK + 5), (len(data) - 100, len(data) - 1), (3 * BLOCK, 4 * BLOCK - 1)):
        status, headers, body = http_get(f"{node.url}/v1/objects/web/big.bin", {"Range": f"bytes={a}-{z}"})
        assert status == 206 and body == data[a:z + 1], (a, z)
        assert headers["content-range"] == f"bytes {a}-{z}/{len(data)}"
    status, _, _ = http_get(f"{node.url}/v1/objects/web/big.bin", {"Range": f"bytes={len(data)}-"})
    assert status == 416
    status, headers, _ = http_get(f"{node.url}/v1/objects/web/big.bin", method="HEAD")
    assert status == 200 and int(headers["content-length"]) == len(data)
    if base == "noetag":  # no ETag from the server: the version is Last-Modified and size
        assert headers["etag"].strip('"').startswith("lm-"), headers["etag"]


@pytest.mark.parametrize("base", ["data", "noetag"])
def test_a_changed_file_is_served_new_after_the_ttl_and_a_removed_one_is_gone(web, make_node, base):
    server, root, files = web
    node = make_node(server.url(base + "/"), name="web", extra=("--metadata-ttl", "1s"))
    old = files["big.bin"]
    status, headers, body = http_get(f"{node.url}/v1/objects/web/big.bin")
    assert status == 200 and body == old
    old_etag = headers["etag"]
    new = seeded_bytes("changed", len(old) + 10)
    path = root / base / "big.bin"
    tmp = root / base / "big.bin.tmp"
    tmp.write_bytes(new)
    os.utime(tmp, (time.time() + 5, time.time() + 5))  # a Last-Modified second that differs
    os.replace(tmp, path)
    time.sleep(1.2)
    status, headers, body = http_get(f"{node.url}/v1/objects/web/big.bin")
    assert status == 200 and sha256(body) == sha256(new)
    assert headers["etag"] != old_etag
    # A read pinned to the old version fails rather than mixing versions.
    status, _, _ = http_get(f"{node.url}/v1/objects/web/big.bin", {"If-Match": old_etag})
    assert status == 412
    os.remove(root / base / "sub" / "small.txt")
    time.sleep(1.2)
    status, _, body = http_get(f"{node.url}/v1/objects/web/sub/small.txt")
    assert status == 404, body[:200]


def test_a_signed_url_base_and_a_server_that_refuses_head(web, make_node):
    server, _, files = web
    signed = make_node(server.url("signed/") + "?token=s3cr3t", name="web")
    for name, data in files.items():
        status, _, body = http_get(obj(signed, name))
        assert status == 200 and body == data, name
    unsigned = make_node(server.url("signed/"), name="web")
    status, _, body = http_get(f"{unsigned.url}/v1/objects/web/big.bin")
    assert status == 403, body[:200]
    assert b"s3cr3t" not in body
    nohead = make_node(server.url("nohead/"), name="web")
    for name, data in files.items():
        status, headers, body = http_get(obj(nohead, name))
        assert status == 200 and body == data, name
        status, headers, _ = http_get(obj(nohead, name), method="HEAD")
        assert status == 200 and int(headers["content-length"]) == len(data), name


def test_a_server_that_is_down_is_a_gateway_error_not_a_hang(web, make_node):
    server, _, files = web
    node = make_node(server.url("data/"), name="web", extra=("--metadata-ttl", "1s"))
    status, _, body = http_get(f"{node.url}/v1/objects/web/sub/small.txt")
    assert status == 200
    server.stop()
    t = time.time()
    status, _, body = http_get(f"{node.url}/v1/objects/web/big.bin", timeout=60)
    assert status in (502, 504), (status, body[:200])
    assert time.time() - t < 30


def test_listing_mounting_and_writing_say_what_is_wrong(web, make_node, tmp_path):
    server, _, _ = web
    node = make_node(server.url("data/"), name="web")
    status, _, body = http_get(f"{node.url}/v1/list/web/")
    assert status == 501 and b"cannot be listed" in body, body
    status, _, body = http_get(f"{node.url}/v1/objects/web/new.bin", method="PUT")
    assert status == 405 and b"read-only" in body, body
    r = subprocess.run([BIN, "ls", "--peers", f"127.0.0.1:{node.port}", "web"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "cannot be listed" in r.stderr, (r.stdout, r.stderr)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run([BIN, "mount", "--peers", f"127.0.0.1:{node.port}", "web", str(mnt)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "cannot be listed" in r.stderr, (r.stdout, r.stderr)


def test_bad_http_origin_uris_are_refused_at_start(tmp_path):
    for uri, why in (("http://user:pw@127.0.0.1:1/", "user:password"),
                     ("http:///x", "no host"),
                     ("http://127.0.0.1:1/a/../b/", "path")):
        r = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--cache-dir", str(tmp_path / "c"),
                            "--origin", f"web={uri}"], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and why in r.stderr, (uri, r.stderr)
        assert "pw" not in r.stderr


@pytest.mark.parametrize("base", ["data", "noetag"])
def test_blocks_of_a_changed_file_never_mix_versions(web, make_node, base):
    """The node knows the old version (a long TTL) when the file changes under it: the blocks it
    has not read yet come pinned to that version, and the server's 412 (or the version its
    answer states) stops them from joining the old ones."""
    server, root, files = web
    node = make_node(server.url(base + "/"), name="web",
                     extra=("--metadata-ttl", "1h", "--block-size", "256KiB", "--readahead", "0"))
    old = files["big.bin"]
    status, _, body = http_get(obj(node, "big.bin"), {"Range": f"bytes=0-{BLOCK - 1}"})
    assert status == 206 and body == old[:BLOCK]
    path = root / base / "big.bin"
    tmp = root / base / "big.bin.tmp"
    tmp.write_bytes(seeded_bytes("changed", len(old)))  # same size: only the version tells
    os.utime(tmp, (time.time() + 5, time.time() + 5))
    os.replace(tmp, path)
    try:
        status, _, body = http_get(obj(node, "big.bin"))
        assert status != 200 or body == old, "old and new bytes were joined"
        if status == 200:
            return  # every block was still the old version's
        assert status in (412, 502), (status, body[:200])
    except http.client.IncompleteRead as e:
        # The answer had started with the old version's first block: it is cut, not spliced.
        assert bytes(e.partial) == old[:len(e.partial)]
    status, _, body = http_get(obj(node, "big.bin"))  # the node learned the new version
    assert status == 200 and body == path.read_bytes()

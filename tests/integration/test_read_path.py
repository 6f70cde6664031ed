"""Read path of one node: whole objects, HEAD, cache status, ranges, If-Match, listing."""
import http.client

import pytest
import requests

from conftest import object_url, sha256, write_random

BS = 64 * 1024  # --block-size of the node under test

SIZES = {
    "empty.bin": 0,
    "one.bin": 1,
    "small.bin": 1000,
    "block.bin": BS,
    "block_plus_one.bin": BS + 1,
    "multi.bin": 5 * BS + 12345,
    "dir/a.bin": 3000,
    "dir/b.bin": 4000,
    "dir/sub/c.bin": 5000,
    "other/d.bin": 10,
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("origin")
    files = {name: write_random(root / name, size, seed=i) for i, (name, size) in enumerate(SIZES.items())}
    return root, files


@pytest.fixture
def node(make_node, dataset):
    return make_node(str(dataset[0]), extra=["--block-size", "64KiB"])


def test_full_get_every_size(node, dataset):
    _, files = dataset
    for name, data in files.items():
        r = requests.get(object_url(node, name), timeout=30)
        assert r.status_code == 200, (name, r.text)
        assert len(r.content) == len(data), name
        assert sha256(r.content) == sha256(data), name
        assert int(r.headers["Content-Length"]) == len(data)


def test_head_headers(node, dataset):
    _, files = dataset
    for name in ("empty.bin", "multi.bin"):
        r = requests.head(object_url(node, name), timeout=30)
        assert r.status_code == 200
        assert r.content == b""
        assert int(r.headers["Content-Length"]) == len(files[name])
        assert r.headers["ETag"].startswith('"') and r.headers["ETag"].endswith('"')
        assert r.headers["Last-Modified"].endswith("GMT")
        assert r.headers["Accept-Ranges"] == "bytes"
        g = requests.get(object_url(node, name), timeout=30)
        assert g.headers["ETag"] == r.headers["ETag"]
        assert g.headers["Last-Modified"] == r.headers["Last-Modified"]


def test_cache_status_miss_then_hit(node, dataset):
    _, files = dataset
    for name in ("one.bin", "block_plus_one.bin", "multi.bin"):
        first = requests.get(object_url(node, name), timeout=30)
        assert first.headers["X-Unicache-Cache"] == "miss", name
        second = requests.get(object_url(node, name), timeout=30)
        assert second.headers["X-Unicache-Cache"] == "hit", name
        assert first.content == second.content == files[name]


def _range(node, name, header):
    return requests.get(object_url(node, name), headers={"Range": header}, timeout=30)


def test_ranges(node, dataset):
    _, files = dataset
    data = files["multi.bin"]
    size = len(data)
    cases = [
        (f"bytes=0-0", 0, 0),                        # first byte
        (f"bytes=0-99", 0, 99),
        (f"bytes={size // 2}-{size // 2 + 999}", size // 2, size // 2 + 999),  # middle
        (f"bytes={size - 1}-{size - 1}", size - 1, size - 1),  # last byte
        (f"bytes={BS - 10}-{BS + 9}", BS - 10, BS + 9),        # crosses one block boundary
        (f"bytes={BS - 1}-{3 * BS}", BS - 1, 3 * BS),          # crosses several
        (f"bytes={BS}-{2 * BS - 1}", BS, 2 * BS - 1),          # exactly one block
        ("bytes=-500", size - 500, size - 1),                  # suffix
        (f"bytes=-{size * 3}", 0, size - 1),                   # suffix longer than the object
        (f"bytes={size - 700}-", size - 700, size - 1),        # open-ended
        (f"bytes={size - 5}-{size + 100000}", size - 5, size - 1),  # end clamped
        ("bytes=0-99999999999999999999999", 0, size - 1),      # huge end clamped
    ]
    for header, first, last in cases:
        r = _range(node, "multi.bin", header)
        assert r.status_code == 206, (header, r.text)
        assert r.content == data[first:last + 1], header
        assert r.headers["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert int(r.headers["Content-Length"]) == last - first + 1
    # The same ranges again, now from the cache.
    for header, first, last in cases:
        assert _range(node, "multi.bin", header).content == data[first:last + 1], header
    # One-byte object and a range covering exactly one block of block_plus_one.
    assert _range(node, "one.bin", "bytes=0-").content == files["one.bin"]
    r = _range(node, "block_plus_one.bin", f"bytes={BS}-")
    assert r.status_code == 206 and r.content == files["block_plus_one.bin"][BS:]


def test_range_errors(node, dataset):
    _, files = dataset
    size = len(files["multi.bin"])
    for name, header in [("multi.bin", f"bytes={size}-"), ("multi.bin", f"bytes={size + 10}-{size + 20}"),
                         ("multi.bin", "bytes=-0"), ("empty.bin", "bytes=0-0"), ("empty.bin", "bytes=-5")]:
        r = _range(node, name, header)
        assert r.status_code == 416, (name, header, r.status_code)
        assert r.headers["Content-Range"] == f"bytes */{len(files[name])}"
        assert r.json()["code"]
    # Invalid ranges are rejected as unsatisfiable (RFC 9110 allows ignoring or rejecting them).
    for header in ["bytes=abc", "bytes=5-1", "bytes=1", "bytes=--1", "bytes=1-2-3"]:
        r = _range(node, "multi.bin", header)
        assert r.status_code == 416, (header, r.status_code)
        assert r.headers["Content-Range"] == f"bytes */{size}"
        body = r.json()
        assert set(body) >= {"error", "code"}


def test_if_match(node, dataset):
    _, files = dataset
    url = object_url(node, "small.bin")
    etag = requests.head(url, timeout=30).headers["ETag"]
    for value in (etag, "*", f'"nope", {etag}'):
        r = requests.get(url, headers={"If-Match": value}, timeout=30)
        assert r.status_code == 200, value
        assert r.content == files["small.bin"]
    # If-Match compares strongly (RFC 9110 13.1.1): a weak tag never matches.
    assert requests.get(url, headers={"If-Match": f"W/{etag}"}, timeout=30).status_code == 412
    r = requests.get(url, headers={"If-Match": '"not-the-etag"'}, timeout=30)
    assert r.status_code == 412
    assert r.json()["code"]
    assert r.headers["ETag"] == etag
    r = requests.get(url, headers={"If-Match": '"not-the-etag"', "Range": "bytes=0-9"}, timeout=30)
    assert r.status_code == 412


def _list(node, prefix="", **params):
    r = requests.get(f"{node.url}/v1/list/data/{prefix}", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_listing_flat_and_delimiter(node, dataset):
    _, files = dataset
    flat = _list(node)
    assert flat["origin"] == "data" and flat["prefix"] == ""
    assert sorted(o["path"] for o in flat["objects"]) == sorted(files)
    assert flat["prefixes"] == [] and flat["next_token"] == ""
    for o in flat["objects"]:
        assert o["size"] == len(files[o["path"]])
        assert o["etag"] and o["last_modified_ms"] > 0
    # Listing etags are the ones the object endpoint returns.
    head = requests.head(object_url(node, "dir/a.bin"), timeout=30)
    assert head.headers["ETag"] == '"%s"' % next(o["etag"] for o in flat["objects"] if o["path"] == "dir/a.bin")

    top = _list(node, delimiter="/")
    assert sorted(o["path"] for o in top["objects"]) == sorted(n for n in files if "/" not in n)
    assert sorted(top["prefixes"]) == ["dir/", "other/"]

    sub = _list(node, "dir/", delimiter="/")
    assert sub["prefix"] == "dir/"
    assert sorted(o["path"] for o in sub["objects"]) == ["dir/a.bin", "dir/b.bin"]
    assert sub["prefixes"] == ["dir/sub/"]

    filtered = _list(node, "dir/s")
    assert [o["path"] for o in filtered["objects"]] == ["dir/sub/c.bin"]
    assert _list(node, "block")["objects"] and all(
        o["path"].startswith("block") for o in _list(node, "block")["objects"])
    assert _list(node, "no-such-prefix")["objects"] == []


def test_listing_pagination(node, dataset):
    _, files = dataset
    for delimiter in ("", "/"):
        seen, prefixes, token, pages = [], [], "", 0
        while True:
            params = {"max-keys": 2, "delimiter": delimiter}
            if token:
                params["token"] = token
            page = _list(node, **params)
            assert len(page["objects"]) + len(page["prefixes"]) <= 2
            seen += [o["path"] for o in page["objects"]]
            prefixes += page["prefixes"]
            pages += 1
            token = page["next_token"]
            if not token:
                break
            assert pages < 50
        expected = sorted(files) if not delimiter else sorted(n for n in files if "/" not in n)
        assert sorted(seen) == expected and len(seen) == len(set(seen)), delimiter
        assert sorted(prefixes) == ([] if not delimiter else ["dir/", "other/"])
        assert pages >= 2


def test_listing_and_objects_unknown_origin(node):
    r = requests.get(f"{node.url}/v1/list/nope/", timeout=30)
    assert r.status_code == 404 and r.json()["code"]
    r = requests.get(f"{node.url}/v1/objects/nope/x.bin", timeout=30)
    assert r.status_code == 404 and r.json()["code"]
    r = requests.get(object_url(node, "missing.bin"), timeout=30)
    assert r.status_code == 404 and r.json()["code"]


def test_keep_alive_session(node, dataset):
    _, files = dataset
    with requests.Session() as s:
        for i in range(30):
            name = list(files)[i % len(files)]
            r = s.get(object_url(node, name), timeout=30)
            assert r.status_code == 200 and r.content == files[name]
            assert r.headers.get("Connection", "").lower() != "close"
            r = s.get(object_url(node, "multi.bin"), headers={"Range": f"bytes={i}-{i + 10}"}, timeout=30)
            assert r.content == files["multi.bin"][i:i + 11]
            # An error response must not break the connection either.
            assert s.get(object_url(node, "missing.bin"), timeout=30).status_code == 404
            assert s.head(object_url(node, "small.bin"), timeout=30).status_code == 200


def test_keep_alive_one_socket(node, dataset):
    """Many requests (bodies, HEADs, errors) on one TCP connection, in order."""
    _, files = dataset
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    conn.connect()
    sock = conn.sock
    for name, data in files.items():
        for method in ("GET", "HEAD"):
            conn.request(method, f"/v1/objects/data/{name}")
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200
            assert body == (data if method == "GET" else b"")
        conn.request("GET", "/v1/objects/data/missing.bin")
        r = conn.getresponse()
        r.read()
        assert r.status == 404
        assert conn.sock is sock  # never reconnected
    conn.close()

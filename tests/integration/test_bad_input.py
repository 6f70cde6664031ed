"""Hostile and malformed requests over raw sockets (HTTP clients would normalize them).

Every rejected request must get a clean HTTP error, must never reach the origin, and must
not hurt the node: a good request afterwards is still served correctly.
"""
import os

import pytest

from conftest import metric, origin_requests, raw_exchange, write_random

SECRET = b"TOP-SECRET-OUTSIDE-THE-ORIGIN-" * 100


@pytest.fixture
def setup(tmp_path, make_node):
    origin = tmp_path / "origin"
    good = write_random(origin / "dir" / "good.bin", 70000)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    os.symlink(outside / "secret.txt", origin / "escape.txt")   # absolute target
    os.symlink("../outside", origin / "escape_dir")             # relative, a directory
    os.symlink("dir/good.bin", origin / "inside_link.bin")      # stays inside: allowed
    node = make_node(str(origin), extra=["--block-size", "64KiB"])
    return node, good


def req(path, method="GET", extra=b""):
    return (method.encode() + b" " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
            b"Connection: close\r\n\r\n")


def assert_json_error(status, headers, body, expected):
    assert status == expected, (status, body)
    assert headers.get("content-type", "").startswith("application/json"), headers
    import json
    j = json.loads(body)
    assert j["error"] and j["code"], j
    assert SECRET[:20] not in body


# (request bytes, expected status). None of these may reach the origin.
REJECTED = [
    # path traversal, raw and percent-encoded
    (req(b"/v1/objects/data/../../etc/passwd"), 400),
    (req(b"/v1/objects/data/dir/../../../etc/passwd"), 400),
    (req(b"/v1/objects/data/%2e%2e/%2e%2e/etc/passwd"), 400),
    (req(b"/v1/objects/data/dir/%2E%2E/%2e%2E/x"), 400),
    (req(b"/v1/objects/data/.."), 400),
    (req(b"/v1/objects/data/./dir/good.bin"), 400),
    (req(b"/v1/objects/data/dir%2f..%2f..%2fsecret"), 400),
    (req(b"/v1/list/data/../"), 400),
    (req(b"/v1/list/data/%2e%2e/"), 400),
    # absolute paths and double slashes
    (req(b"/v1/objects/data//etc/passwd"), 400),
    (req(b"/v1/objects/data/dir//good.bin"), 400),
    (req(b"/v1/objects/data/%2fetc%2fpasswd"), 400),
    (req(b"http://127.0.0.1/v1/objects/data/dir/good.bin"), 400),   # absolute-form target
    (req(b"*", method="OPTIONS"), 400),
    # NUL, control characters, backslash, bad percent escapes
    (req(b"/v1/objects/data/dir/good.bin%00.txt"), 400),
    (req(b"/v1/objects/data/a%0d%0aX-Injected:%201"), 400),
    (req(b"/v1/objects/data/a%01b"), 400),
    (req(b"/v1/objects/data/a%7fb"), 400),
    (req(b"/v1/objects/data/..%5c..%5cetc%5cpasswd"), 400),
    (req(b"/v1/objects/data/dir%5cgood.bin"), 400),
    (req(b"/v1/objects/data/a%zz"), 400),
    (req(b"/v1/objects/data/a%"), 400),
    # unknown origin, unknown endpoint
    (req(b"/v1/objects/nope/dir/good.bin"), 404),
    (req(b"/v1/list/nope/"), 404),
    (req(b"/v2/objects/data/dir/good.bin"), 404),
    (req(b"/"), 404),
    (req(b"/v1/objectsdata/good.bin"), 404),
    # methods
    (req(b"/v1/objects/data/dir/good.bin", method="DELETE"), 405),
    (req(b"/v1/objects/data/dir/good.bin", method="POST", extra=b"Content-Length: 0\r\n"), 405),
    (req(b"/v1/objects/data/dir/good.bin", method="PATCH", extra=b"Content-Length: 0\r\n"), 405),
    (req(b"/v1/list/data/", method="DELETE"), 405),
    (req(b"/metrics", method="POST", extra=b"Content-Length: 0\r\n"), 405),
    # PUT is write-through (see test_put_is_write_through) but not to a bad path
    (req(b"/v1/objects/data/../evil.bin", method="PUT", extra=b"Content-Length: 4\r\n") + b"evil", 400),
    # headers and bodies
    (b"GET /v1/objects/data/dir/good.bin HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20480 +
     b"\r\nConnection: close\r\n\r\n", 431),
    (b"GET /v1/objects/data/dir/good.bin HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 100) for i in range(200)) + b"Connection: close\r\n\r\n", 431),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET\r\n\r\n", 400),
    (b"GET /v1/objects/data/dir/good.bin HTTP/9.9\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n", 400),  # TLS hello
    (b"GET /v1/objects/data/dir/good.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n"
     b"Connection: close\r\n\r\nxxxx", 413),
    (b"GET /v1/objects/data/dir/good.bin HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    (b"GET /v1/objects/data/dir/good.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
     b"Content-Length: 2\r\n\r\nab", 400),
    (b"GET /v1/objects/data/dir/good.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\n", 400),
    (b"GET /v1/objects/data/dir/good.bin HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),
    # malformed list parameters
    (req(b"/v1/list/data/?max-keys=0"), 400),
    (req(b"/v1/list/data/?max-keys=-1"), 400),
    (req(b"/v1/list/data/?max-keys=abc"), 400),
    (req(b"/v1/list/data/?max-keys=99999999999999999999999"), 400),
    (req(b"/v1/list/data/?max-keys=10001"), 400),
    (req(b"/v1/list/data/?delimiter=x"), 400),
    (req(b"/v1/list/data/?token=%zz"), 400),
    (req(b"/v1/list/"), 400),
]

# Rejected only after the request was parsed and the object resolved: these reach the origin
# (one stat each) but must still fail cleanly.
RESOLVED_THEN_REJECTED = [
    # RFC 9110 lets a server ignore or reject an invalid range: rejected, as unsatisfiable.
    (req(b"/v1/objects/data/dir/good.bin", extra=b"Range: bytes=abc\r\n"), 416),
    (req(b"/v1/objects/data/dir/good.bin", extra=b"Range: bytes=9-1\r\n"), 416),
    (req(b"/v1/objects/data/dir/good.bin", extra=b"Range: bytes=999999-\r\n"), 416),
    (req(b"/v1/objects/data/dir/good.bin", extra=b"If-Match: \"x\"\r\n"), 412),
    (req(b"/v1/objects/data/dir/good.bin",
         extra=b"If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"), 412),
]


def test_rejected_requests_never_reach_the_origin(setup):
    node, good = setup
    before = origin_requests(node)
    for i, (data, expected) in enumerate(REJECTED):
        status, headers, body, raw = raw_exchange(node.port, data)
        assert status == expected, (i, data[:80], raw[:300])
        if expected != 400 or body.startswith(b"{"):
            assert_json_error(status, headers, body, expected)
        assert SECRET[:20] not in raw
    assert origin_requests(node) == before, "a rejected request reached the origin"
    # No file was created by the rejected PUT.
    assert not os.path.exists(os.path.join(os.path.dirname(node.cache_dir), "evil.bin"))

    # Range/If-Match errors: one origin stat for the object at most, never any bytes.
    before_bytes = metric(node.metrics(), 'unicache_origin_bytes_total{origin="data"}')
    for data, expected in RESOLVED_THEN_REJECTED:
        status, headers, body, raw = raw_exchange(node.port, data)
        assert_json_error(status, headers, body, expected)
    assert metric(node.metrics(), 'unicache_origin_bytes_total{origin="data"}') == before_bytes
    assert origin_requests(node) - before <= 1

    # The node still serves good requests, on fresh and on kept-alive connections.
    status, headers, body, _ = raw_exchange(node.port, req(b"/v1/objects/data/dir/good.bin"))
    assert status == 200 and body == good
    status, _, body, _ = raw_exchange(node.port, req(b"/v1/objects/data/dir/good.bin",
                                                      extra=b"Range: bytes=65530-65545\r\n"))
    assert status == 206 and body == good[65530:65546]
    assert raw_exchange(node.port, req(b"/healthz"))[0] == 200


def test_symlink_escape_is_forbidden(setup):
    node, good = setup
    for path in (b"/v1/objects/data/escape.txt", b"/v1/objects/data/escape_dir/secret.txt"):
        for method in ("GET", "HEAD"):
            status, headers, body, raw = raw_exchange(node.port, req(path, method=method))
            assert status == 403, (path, method, raw[:300])
            assert SECRET[:20] not in raw
        status, headers, body, raw = raw_exchange(node.port, req(path, extra=b"Range: bytes=0-10\r\n"))
        assert status == 403 and SECRET[:20] not in raw
    # Listings skip the escaping links, and never show the outside file's bytes.
    for q in (b"/v1/list/data/", b"/v1/list/data/?delimiter=/", b"/v1/list/data/escape_dir/"):
        status, _, body, raw = raw_exchange(node.port, req(q))
        # Listing inside the escaping directory itself is refused (403); the others skip it.
        assert status == (403 if q.endswith(b"escape_dir/") else 200), (q, raw[:300])
        assert b"secret" not in body and SECRET[:20] not in raw
        if status == 200:
            assert b"escape" not in body
    # A link that stays inside the origin works.
    status, _, body, _ = raw_exchange(node.port, req(b"/v1/objects/data/inside_link.bin"))
    assert status == 200 and body == good
    # Nothing of the outside file was read or cached.
    assert SECRET[:20] not in b"".join(
        open(os.path.join(dp, f), "rb").read() for dp, _, fs in os.walk(node.cache_dir) for f in fs)


def test_keep_alive_survives_error_responses(setup):
    """4xx answers on a kept-alive connection leave it usable for the next request."""
    node, good = setup
    import socket
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as s:
        f = s.makefile("rb")
        for path, expected in [(b"/v1/objects/data/%2e%2e/x", 400), (b"/v1/objects/nope/x", 404),
                               (b"/v1/objects/data/dir/good.bin", 200), (b"/nope", 404),
                               (b"/v1/objects/data/dir/good.bin", 200)]:
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            status = int(f.readline().split()[1])
            length = 0
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            body = f.read(length)
            assert status == expected, path
            if expected == 200:
                assert body == good


def test_put_is_write_through(setup, tmp_path):
    """PUT is not rejected: it is the write-through upload (the object lands in the origin)."""
    node, _ = setup
    payload = b"checkpoint-bytes" * 1000
    data = (b"PUT /v1/objects/data/ckpt/new.bin HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % len(payload)) + payload
    status, _, body, raw = raw_exchange(node.port, data)
    assert status == 201, raw[:300]
    assert (tmp_path / "origin" / "ckpt" / "new.bin").read_bytes() == payload
    status, headers, body, _ = raw_exchange(node.port, req(b"/v1/objects/data/ckpt/new.bin"))
    assert status == 200 and body == payload and headers["x-unicache-cache"] == "hit"

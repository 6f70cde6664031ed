"""One hung origin does not stall the node (issue #14). A node serves a healthy directory origin
and an S3 origin whose endpoint accepts connections and never answers. With 300 requests
waiting on the hung origin, RAM hits, SSD hits and the healthy origin's cold reads are served at
once and byte-exact; requests queued past --queue-deadline get 503 + Retry-After; the refusals
are counted per executor; and stopping the node cancels the calls the hung origin holds."""
import select
import socket
import threading
import time
import urllib.parse

import pytest

from conftest import NodeProcess, free_port, http_get, metric, seeded_bytes
from silent_server import SilentServer

MiB = 1 << 20
ORIGIN_THREADS = 16
FLOOD = 300


def read_timed(node, origin, name):
    t = time.monotonic()
    status, headers, body = http_get(f"{node.url}/v1/objects/{origin}/{urllib.parse.quote(name)}",
                                     timeout=60)
    return time.monotonic() - t, status, headers, body


def executor_metric(node, series, executor):
    return metric(node.metrics(), f'{series}{{executor="{executor}"}}')


def answered(fn, items, want, seconds=20):
    """Calls fn(item) for every item at once, each in its own thread; once `want` calls have
    returned (or after `seconds`), returns {item: value} of those that have. A call cut off when
    the node stops (one a hung peer held) is left out."""
    results = {}

    def call(item):
        try:
            results[item] = fn(item)
        except OSError:
            pass

    for item in items:
        threading.Thread(target=call, args=(item,), daemon=True).start()
    deadline = time.monotonic() + seconds
    while len(results) < want and time.monotonic() < deadline:
        time.sleep(0.05)
    return dict(results)


# SIGTERM drains first: requests held by a hung origin or peer get this long, then are cut off.
DRAIN = ["--drain-timeout", "2s"]


def assert_stops_promptly(node):
    """Stopping (SIGTERM: a drain of --drain-timeout 2s, then the stop) cancels the calls a hung
    origin or peer holds: the node exits 0 within 10 s."""
    t = time.monotonic()
    node.stop()
    assert node.proc.returncode == 0, node.proc.returncode
    assert time.monotonic() - t < 10, f"stopping took {time.monotonic() - t:.1f} s"


@pytest.fixture
def hung():
    server = SilentServer()
    yield server
    server.close()


def test_a_hung_origin_delays_only_its_own_requests(tmp_path, hung, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    data = tmp_path / "data"
    data.mkdir()
    files = {f"f{i}.bin": seeded_bytes(f"f{i}", 3 * MiB + 1000 * i) for i in range(8)}
    for name, content in files.items():
        (data / name).write_bytes(content)
    cache = str(tmp_path / "cache")
    origins = ["--origin", f"data={data}", "--origin",
               f"hung=s3://bucket?endpoint=http://127.0.0.1:{hung.port}&style=path&region=us-east-1"]
    extra = [*DRAIN, "--ram", "256MiB", "--block-size", "1MiB", "--origin-threads", str(ORIGIN_THREADS),
             "--queue-deadline", "3s", "--immutable"]

    # f0 and f1 cached on the SSD by a first node; the second node starts with them on SSD only.
    first = NodeProcess(origins, cache, extra).start()
    for name in ("f0.bin", "f1.bin"):
        assert read_timed(first, "data", name)[3] == files[name]
    first.stop()
    node = NodeProcess(origins, cache, extra).start()
    try:
        _, status, headers, body = read_timed(node, "data", "f0.bin")  # SSD, then RAM
        assert status == 200 and body == files["f0.bin"]

        # The flood: each request on its own connection, none read yet.
        flood = []
        for i in range(FLOOD):
            s = socket.create_connection(("127.0.0.1", node.port), timeout=60)
            s.sendall(f"GET /v1/objects/hung/obj-{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            flood.append(s)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            running = executor_metric(node, "unicache_executor_running", "origin hung")
            queued = executor_metric(node, "unicache_executor_queued", "origin hung")
            if running == ORIGIN_THREADS and queued > 0:
                break
            time.sleep(0.05)
        assert running == ORIGIN_THREADS, "the hung origin's threads are all waiting on it"
        assert queued > 0

        # The rest of the node answers at once, byte-exact.
        took, status, headers, body = read_timed(node, "data", "f0.bin")
        assert status == 200 and body == files["f0.bin"] and headers["x-unicache-cache"] == "hit"
        assert took < 2, f"RAM hit took {took:.2f} s beside a hung origin"
        ssd_before = metric(node.metrics(), 'unicache_cache_hits_total{tier="ssd"}')
        took, status, headers, body = read_timed(node, "data", "f1.bin")
        assert status == 200 and body == files["f1.bin"]
        assert metric(node.metrics(), 'unicache_cache_hits_total{tier="ssd"}') > ssd_before
        assert took < 2, f"SSD hit took {took:.2f} s beside a hung origin"
        for name in ("f2.bin", "f3.bin", "f4.bin"):
            took, status, headers, body = read_timed(node, "data", name)
            assert status == 200 and body == files[name]
            assert headers["x-unicache-cache"] == "miss"
            assert took < 2, f"a cold read of the healthy origin took {took:.2f} s"
        assert http_get(f"{node.url}/healthz")[0] == 200

        # Requests queued past the deadline are refused with 503 + Retry-After, not left hanging.
        refused = 0
        waiting = {s.fileno(): s for s in flood}
        deadline = time.monotonic() + 30
        while refused < FLOOD - ORIGIN_THREADS and time.monotonic() < deadline:
            ready, _, _ = select.select(list(waiting), [], [], 1)
            for fd in ready:
                head = waiting.pop(fd).recv(4096)
                if head.startswith(b"HTTP/1.1 503") and b"\r\nRetry-After: " in head:
                    refused += 1
        assert refused >= FLOOD - ORIGIN_THREADS, refused
        late = metric(node.metrics(), 'unicache_executor_refused_total{executor="origin hung",'
                                      'reason="queue_deadline"}')
        assert late >= FLOOD - ORIGIN_THREADS
        # Still healthy afterwards.
        _, status, _, body = read_timed(node, "data", "f5.bin")
        assert status == 200 and body == files["f5.bin"]

        assert_stops_promptly(node)
    finally:
        for s in locals().get("flood", []):
            s.close()
        node.stop()


def test_a_hung_peer_holds_only_its_share_of_the_peer_threads(tmp_path, hung):
    """A member that accepts connections and never answers owns about half the blocks. At most
    half the peer threads wait on it (--peer-threads 8: 4); every other read, of the blocks this
    node owns or of the hung member's beyond those 4, is served from the origin at once."""
    data = tmp_path / "data"
    data.mkdir()
    files = {f"p{i}.bin": seeded_bytes(f"p{i}", MiB - 100 * i) for i in range(24)}
    for name, content in files.items():
        (data / name).write_bytes(content)
    port = free_port()
    node = NodeProcess(["--origin", f"data={data}"], str(tmp_path / "cache"),
                       [*DRAIN, "--block-size", "1MiB", "--immutable", "--peer-threads", "8",
                        "--peers", f"127.0.0.1:{port},127.0.0.1:{hung.port}"], port=port).start()
    try:
        done = answered(lambda name: read_timed(node, "data", name), files, len(files) - 4)
        assert len(done) >= len(files) - 4, f"{len(done)} of {len(files)} reads answered"
        for name, (took, status, headers, body) in done.items():
            assert status == 200 and body == files[name], name
        assert any(h["x-unicache-cache"] == "peer" for _, _, h, _ in done.values()), \
            "some answered blocks belong to the hung member"
        assert executor_metric(node, "unicache_executor_running", "peers") <= 4

        assert_stops_promptly(node)
    finally:
        node.stop()


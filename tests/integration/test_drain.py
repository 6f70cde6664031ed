"""Readiness and graceful drain (SIGTERM), and a rolling restart of a cluster under load.
Budget: about 60 s."""
import http.server
import os
import re
import signal
import socket
import threading
import time


from conftest import NodeProcess, free_port, http_get, python_client_module, seeded_bytes
from nginx_server import Nginx

MiB = 1 << 20


class SlowOrigin:
    """A plain HTTP origin whose GETs wait `delay` seconds before answering (HEAD at once)."""

    def __init__(self, body, delay):
        outer = self
        self.body, self.delay = body, delay

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _head(self, status, length, extra=()):
                self.send_response(status)
                self.send_header("ETag", '"v1"')
                self.send_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
                self.send_header("Content-Length", str(length))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()

            def do_HEAD(self):
                self._head(200, len(outer.body))

            def do_GET(self):
                time.sleep(outer.delay)
                m = re.match(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
                first, last = (int(m[1]), int(m[2])) if m else (0, len(outer.body) - 1)
                last = min(last, len(outer.body) - 1)
                part = outer.body[first:last + 1]
                self._head(206 if m else 200, len(part),
                           [("Content-Range", f"bytes {first}-{last}/{len(outer.body)}")] if m else [])
                self.wfile.write(part)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def test_readyz_says_ready_once_serving(tmp_path):
    (tmp_path / "d").mkdir()
    node = NodeProcess(["--origin", f"d={tmp_path / 'd'}"], str(tmp_path / "c")).start()
    try:
        status, _, body = http_get(node.url + "/readyz")
        assert (status, body) == (200, b"ready\n")
    finally:
        node.stop()


def test_sigterm_drains_in_flight_requests_then_exits(tmp_path):
    body = seeded_bytes(1, 3 * MiB)
    origin = SlowOrigin(body, delay=2.0)
    node = NodeProcess(["--origin", f"slow=http://127.0.0.1:{origin.port}/"], str(tmp_path / "c"),
                       ["--block-size", "4MiB", "--drain-delay", "1s", "--drain-timeout", "20s"]).start()
    result = {}

    def read():
        result["answer"] = http_get(node.url + "/v1/objects/slow/file.bin", timeout=30)

    try:
        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.5)  # the read waits on the origin
        t0 = time.monotonic()
        node.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        # The delay: not ready, but alive and still taking connections.
        assert http_get(node.url + "/readyz", timeout=5)[:3:2] == (503, b"draining\n")
        assert http_get(node.url + "/healthz", timeout=5)[0] == 200
        # Then no new connections.
        deadline = time.monotonic() + 5
        while not refused(node.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert refused(node.port)
        reader.join(30)
        status, _, got = result["answer"]
        assert status == 200 and got == body, "the request in flight was finished, whole"
        assert node.proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 10, "the node exits once its requests are done"
    finally:
        node.stop()
        origin.stop()


def test_drain_timeout_cuts_off_a_hung_request(tmp_path):
    origin = SlowOrigin(b"x" * 1000, delay=60)
    node = NodeProcess(["--origin", f"slow=http://127.0.0.1:{origin.port}/"], str(tmp_path / "c"),
                       ["--drain-timeout", "2s"]).start()
    try:
        threading.Thread(target=lambda: http_get(node.url + "/v1/objects/slow/f", timeout=90),
                         daemon=True).start()
        time.sleep(0.5)
        t0 = time.monotonic()
        node.proc.send_signal(signal.SIGTERM)
        assert node.proc.wait(timeout=20) == 0
        assert time.monotonic() - t0 < 8, "the drain gave up after --drain-timeout"
    finally:
        node.stop()
        origin.stop()


def origin_body_bytes(nginx):
    """Body bytes nginx sent for the data files (its access log), whichever node asked."""
    total = 0
    with open(os.path.join(nginx.prefix, "logs/access.log")) as f:
        for line in f:
            m = re.search(r'"(?:GET|HEAD) /files/\S* [^"]*" \d{3} (\d+)', line)
            if m:
                total += int(m[1])
    return total


def test_rolling_restart_under_load_fails_no_read(tmp_path):
    """Three nodes with --replicas 2, clients reading all the time; each node in turn gets
    SIGTERM, is started again on its cache, and becomes ready before the next: no read fails,
    and the origin sends every byte once."""
    uc = python_client_module()
    root = tmp_path / "www"
    (root / "files").mkdir(parents=True)
    (root / "ready.txt").write_text("ok")
    files = {f"f{i}.bin": seeded_bytes(100 + i, 4 * MiB + 12345 * i) for i in range(6)}
    for name, content in files.items():
        (root / "files" / name).write_bytes(content)
    nginx = Nginx(str(tmp_path), str(root))
    ports = [free_port() for _ in range(3)]
    peers = ",".join(f"127.0.0.1:{p}" for p in ports)
    extra = ["--peers", peers, "--replicas", "2", "--block-size", "1MiB", "--immutable",
             "--drain-delay", "500ms", "--drain-timeout", "10s"]

    def make(i):
        return NodeProcess(["--origin", f"www={nginx.url('files/')}"], str(tmp_path / f"cache{i}"),
                           extra, ports[i])

    nodes = [make(i) for i in range(3)]
    stop_readers = threading.Event()
    failures, reads = [], [0]
    try:
        for n in nodes:
            n.start()
        # Warm both replicas of every block: a read through each node reaches each block's
        # secondary too, which copies it from the primary.
        for n in nodes:
            for name, content in files.items():
                assert http_get(f"{n.url}/v1/objects/www/{name}")[2] == content
        warmed = origin_body_bytes(nginx)
        assert warmed == sum(len(c) for c in files.values())

        def reader(seed):
            with uc.Client(peers) as c:
                i = seed
                while not stop_readers.is_set():
                    name = f"f{i % len(files)}.bin"
                    try:
                        if c.read_all("www", name) != files[name]:
                            failures.append(f"{name}: wrong bytes")
                    except Exception as e:  # noqa: BLE001 - every failure counts
                        failures.append(f"{name}: {e}")
                    reads[0] += 1
                    i += 1

        threads = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
        for t in threads:
            t.start()
        for i in range(3):
            time.sleep(1.0)
            before = reads[0]
            nodes[i].proc.send_signal(signal.SIGTERM)
            assert nodes[i].proc.wait(timeout=20) == 0
            nodes[i].stop()
            nodes[i] = make(i).launch()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    if http_get(nodes[i].url + "/readyz", timeout=1)[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            assert reads[0] > before, "clients kept reading through the restart"
        time.sleep(1.0)
        stop_readers.set()
        for t in threads:
            t.join(60)
        assert not failures, failures[:5]
        assert reads[0] > 30
        assert origin_body_bytes(nginx) == warmed, "a restarted node fetched again from the origin"
    finally:
        stop_readers.set()
        for n in nodes:
            n.stop()
        nginx.stop()

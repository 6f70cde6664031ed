"""Shared fixtures: start real `unicache serve` processes on free 127.0.0.1 ports."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

BIN = os.environ.get("UNICACHE_BIN", os.path.join(os.path.dirname(__file__), "../../build/tools/unicache"))


def free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, headers=None, method="GET", timeout=30):
    """Returns (status, headers dict lower-cased, body bytes) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def raw_request(port, data, timeout=10):
    """Sends raw bytes and returns the raw response (for malformed requests)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not c:
                break
            chunks.append(c)
            if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in b"".join(chunks):
                break
        return b"".join(chunks)


def stop_process(proc, timeout=20, sig=signal.SIGTERM):
    """Sends `sig` to a child process still running, waits up to `timeout` s, then kills it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss(pid):
    """The resident memory of process `pid` (VmRSS), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def metric(text, series):
    """Returns the value of one Prometheus series (e.g. 'x{a="b"}') or 0."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


class NodeProcess:
    """One `unicache serve` child process."""

    def __init__(self, origin_args, cache_dir, extra=(), port=None, host="127.0.0.1"):
        self.port = port or free_port()
        self.host = host
        self.cache_dir = cache_dir
        self.args = [BIN, "serve", "--listen", f"{host}:{self.port}", "--cache-dir", cache_dir,
                     *origin_args, *extra]
        self.proc = None
        self.log_path = os.path.join(cache_dir + ".log")

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self, timeout=20):
        return self.launch().wait_ready(timeout)

    def launch(self):
        """Starts the process without waiting (many nodes start at once; then wait_ready)."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout=20):
        """Waits until the node answers /healthz; raises with its log if it exits first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {open(self.log_path).read()}")
            try:
                if http_get(self.url + "/healthz", timeout=1)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("node did not become healthy: " + open(self.log_path).read())

    def metrics(self):
        return http_get(self.url + "/metrics")[2].decode()

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            stop_process(self.proc, sig=sig)
        if getattr(self, "log", None):
            self.log.close()

    def kill(self):
        self.stop(signal.SIGKILL)


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


@pytest.fixture
def make_node(tmp_path):
    nodes = []

    def factory(origin_dir, name="data", extra=(), cache_dir=None, port=None):
        cache = cache_dir or str(tmp_path / f"cache{len(nodes)}")
        n = NodeProcess(["--origin", f"{name}={origin_dir}"], cache, extra, port).start()
        nodes.append(n)
        return n

    yield factory
    for n in nodes:
        n.stop()


# ---- helpers shared by the node tests ----

import hashlib  # noqa: E402
import re  # noqa: E402


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def seeded_bytes(seed, n):
    """`n` bytes that differ by seed and along the object (each 2 KiB run is new)."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:n])


def write_random(path, size, seed=None):
    """Writes `size` random bytes to `path` (creating parent dirs) and returns them."""
    import numpy as np
    rng = np.random.default_rng(seed if seed is not None else size)
    data = rng.integers(0, 256, size=size, dtype=np.uint8).tobytes()
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return data


def raw_exchange(port, data, timeout=10):
    """Sends raw bytes, reads until the server closes (or one full response arrives) and returns
    (status or None, headers dict lower-cased, body bytes, raw bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        while True:
            try:
                c = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not c:
                break
            buf += c
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
                if m and len(body) >= int(m.group(1)):
                    break
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return None, {}, b"", buf
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.decode("latin-1").strip().lower()] = v.decode("latin-1").strip()
    return status, headers, body, buf


def metric_types(text):
    """Returns {metric name: type} from the # TYPE lines of a Prometheus exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            out[name] = kind
    return out


def origin_bytes(node, origin="data"):
    return metric(node.metrics(), f'unicache_origin_bytes_total{{origin="{origin}"}}')


def origin_requests(node, origin="data"):
    return metric(node.metrics(), f'unicache_origin_requests_total{{origin="{origin}"}}')


def object_url(node, path, origin="data"):
    return f"{node.url}/v1/objects/{origin}/{path}"


@pytest.fixture
def spawn_serve(tmp_path):
    """Starts `unicache serve ARGS...` (args and env chosen by the test) and waits until
    127.0.0.1:port answers /healthz. Every process started is killed at teardown."""
    procs = []

    def factory(args, port, env=None, timeout=20):
        log = open(tmp_path / f"serve{len(procs)}.log", "wb")
        p = subprocess.Popen([BIN, "serve", *args], stdout=log, stderr=subprocess.STDOUT,
                             env={**os.environ, **(env or {})})
        procs.append((p, log))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if p.poll() is not None:
                raise RuntimeError(f"serve exited with {p.returncode}: " +
                                   open(tmp_path / f"serve{len(procs) - 1}.log").read())
            try:
                if http_get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200:
                    return p
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("serve did not become healthy")

    yield factory
    for p, log in procs:
        stop_process(p)
        log.close()


# ---- etcd (test_cluster.py, test_fleet.py) ----

def start_etcd(tmp_path):
    etcd = shutil.which("etcd")
    if etcd is None:
        pytest.skip("etcd is not on PATH (Debian package etcd-server)")
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    log = open(tmp_path / "etcd.log", "wb")
    proc = subprocess.Popen([etcd, "--name", "test", "--data-dir", str(tmp_path / "etcd"),
                             "--listen-client-urls", client, "--advertise-client-urls", client,
                             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                             "--initial-cluster", f"test={peer}", "--logger", "zap"],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if http_get(client + "/health", timeout=1)[0] == 200:
                return proc, client
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("etcd did not start")


def wait_for(pred, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


# ---- clusters of nodes (test_cluster.py, test_python_client.py) ----

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def lib_path():
    """Returns libunicache.so next to the unicache binary (UNICACHE_LIB wins), or None."""
    if os.environ.get("UNICACHE_LIB"):
        return os.environ["UNICACHE_LIB"]
    p = os.path.join(os.path.dirname(os.path.abspath(BIN)), "..", "src", "client", "libunicache.so")
    return os.path.abspath(p) if os.path.exists(p) else None


def python_client_module():
    """Imports python/unicache with UNICACHE_LIB pointing at the built library (skips if absent)."""
    import sys
    lib = lib_path()
    if lib is None:
        pytest.skip("libunicache.so is not built (target unicache_c)")
    os.environ["UNICACHE_LIB"] = lib
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import unicache
    return unicache


class Cluster:
    """N `unicache serve` nodes that know each other through --peers (or `discovery`)."""

    def __init__(self, tmp_path, origin_dir, n=3, extra=(), discovery=None, name="data"):
        ports = [free_port() for _ in range(n)]
        self.peers = ",".join(f"127.0.0.1:{p}" for p in ports)
        membership = ["--discovery", discovery] if discovery else ["--peers", self.peers]
        self.nodes = [NodeProcess(["--origin", f"{name}={origin_dir}"], str(tmp_path / f"cache{i}"),
                                  [*membership, *extra], port) for i, port in enumerate(ports)]

    def start(self):
        for node in self.nodes:
            node.start()
        return self

    def restart(self, i):
        old = self.nodes[i]
        self.nodes[i] = NodeProcess([], old.cache_dir, (), old.port)
        self.nodes[i].args = old.args
        return self.nodes[i].start()

    def members(self, i):
        import json
        return json.loads(http_get(self.nodes[i].url + "/v1/members", timeout=5)[2])

    def sum_metric(self, series):
        total = 0.0
        for node in self.nodes:
            if node.proc and node.proc.poll() is None:
                total += metric(node.metrics(), series)
        return total

    def stop(self):
        for node in self.nodes:
            node.stop()


@pytest.fixture
def make_cluster(tmp_path):
    clusters = []

    def factory(origin_dir, n=3, extra=(), discovery=None):
        c = Cluster(tmp_path, origin_dir, n, extra, discovery)
        clusters.append(c)
        return c.start()

    yield factory
    for c in clusters:
        c.stop()


@pytest.fixture
def make_kv_cluster(tmp_path, make_cluster):
    """Returns a factory: 3 nodes on an empty directory origin, with the given KV namespaces."""
    def factory(namespaces):
        origin = tmp_path / "origin"
        origin.mkdir(exist_ok=True)
        extra = [arg for ns in namespaces for arg in ("--kv-namespace", ns)]
        return make_cluster(origin, 3, extra).nodes
    return factory

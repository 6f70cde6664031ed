"""The memory budget holds under uploads (issue #14): object uploads stream to the origin in
bounded pieces, never held whole. Six concurrent 200 MiB uploads to a node with --ram 64MiB keep
its RSS (sampled from /proc) under 384 MiB and land byte-exact; an upload cut short leaves the
object as it was."""
import hashlib
import http.client
import socket
import threading
import time

from conftest import NodeProcess, http_get, metric, rss

MiB = 1 << 20
UPLOADS = 6
SIZE = 200 * MiB
LIMIT = 384 * MiB


def chunks(seed, size, piece=MiB):
    """The bytes of upload `seed`, generated piece by piece (no piece repeats)."""
    block = hashlib.sha256(f"upload-{seed}".encode()).digest() * (piece // 32)
    for i in range(0, size, piece):
        n = min(piece, size - i)
        yield i.to_bytes(8, "little") + block[8:n]


def sha_of(seed, size):
    h = hashlib.sha256()
    for c in chunks(seed, size):
        h.update(c)
    return h.hexdigest()


def test_concurrent_large_uploads_stay_within_the_memory_budget(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    node = NodeProcess(["--origin", f"data={origin}"], str(tmp_path / "cache"),
                       ["--ram", "64MiB", "--ssd", "1GiB"]).start()
    try:
        peak = [rss(node.proc.pid)]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss(node.proc.pid))
                time.sleep(0.02)

        results = {}

        def upload(i):
            conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=300)
            conn.request("PUT", f"/v1/objects/data/ckpt/shard-{i}.bin", body=chunks(i, SIZE),
                         headers={"Content-Length": str(SIZE)})
            r = conn.getresponse()
            results[i] = (r.status, r.read())
            conn.close()

        sampler = threading.Thread(target=sample)
        sampler.start()
        threads = [threading.Thread(target=upload, args=(i,)) for i in range(UPLOADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        sampler.join()
        for i in range(UPLOADS):
            assert results[i][0] == 201, results[i]
        print(f"peak RSS {peak[0] / MiB:.0f} MiB during {UPLOADS} uploads of {SIZE // MiB} MiB")
        assert peak[0] < LIMIT, f"peak RSS {peak[0] / MiB:.0f} MiB"
        text = node.metrics()
        budget = sum(float(line.split()[-1]) for line in text.splitlines()
                     if line.startswith("unicache_memory_budget_bytes{"))
        assert 0 < metric(text, "unicache_memory_resident_bytes") < budget
        assert peak[0] < budget

        # Byte-exact at the origin and read back through the node.
        for i in range(UPLOADS):
            want = sha_of(i, SIZE)
            h = hashlib.sha256()
            with open(origin / "ckpt" / f"shard-{i}.bin", "rb") as f:
                for piece in iter(lambda: f.read(4 * MiB), b""):
                    h.update(piece)
            assert h.hexdigest() == want, i
            conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=300)
            conn.request("GET", f"/v1/objects/data/ckpt/shard-{i}.bin")
            r = conn.getresponse()
            assert r.status == 200
            h = hashlib.sha256()
            for piece in iter(lambda: r.read(4 * MiB), b""):
                h.update(piece)
            conn.close()
            assert h.hexdigest() == want, i
        assert not [p for p in (origin / "ckpt").iterdir() if "unicache-tmp" in p.name]
    finally:
        node.stop()


def test_an_upload_cut_short_leaves_the_object_as_it_was(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "keep.bin").write_bytes(b"old version")
    node = NodeProcess(["--origin", f"data={origin}"], str(tmp_path / "cache"),
                       ["--ram", "64MiB"]).start()
    try:
        s = socket.create_connection(("127.0.0.1", node.port))
        s.sendall(b"PUT /v1/objects/data/keep.bin HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 10485760\r\n\r\n" + b"x" * (3 * MiB))
        s.close()  # 3 of 10 MiB, then gone
        deadline = time.time() + 20
        while time.time() < deadline and [p for p in origin.iterdir() if "unicache-tmp" in p.name]:
            time.sleep(0.05)
        time.sleep(0.2)
        assert (origin / "keep.bin").read_bytes() == b"old version"
        assert not [p for p in origin.iterdir() if "unicache-tmp" in p.name]
        status, _, body = http_get(f"{node.url}/v1/objects/data/keep.bin")
        assert status == 200 and body == b"old version"
        # A chunked upload (no length) is refused with 411 before any byte reaches the origin.
        s = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        s.sendall(b"PUT /v1/objects/data/keep.bin HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 411")
        s.close()
        assert (origin / "keep.bin").read_bytes() == b"old version"
    finally:
        node.stop()

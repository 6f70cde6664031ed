#!/usr/bin/env python3
"""KV cache vs Redis (issue #6): put and get of 256 KiB .. 32 MiB values with 1, 8 and 32
concurrent clients, against one `unicache serve` node and one redis-server, side by side in one
run, over TCP (HTTP) and over the shared-memory path (a memfd registered with the node over its
Unix socket; see docs/KV.md), plus the loopback TCP ceiling (iperf3) and prefix-match latency of 1,000 keys.

Both clients are minimal Python clients over raw sockets, one process per client, one request in
flight per connection, values sent from and received into preallocated buffers (no per-op
allocation): HTTP/1.1 PUT/GET for unicache, RESP SET/GET for Redis (each command written with one
sendall). Redis runs with no persistence (--save '' --appendonly no). Before each timed case
every client puts and deletes its values once, untimed (--no-warmup skips it), so both servers
are measured in steady state rather than while their heaps first grow.

Each case runs --runs times (default 3), unicache TCP, unicache shm and Redis taking turns, and
the tables show the median of each metric over the runs: this machine is shared and noisy.

    bench/kv_vs_redis.py [--sizes 256KiB,1MiB,4MiB,32MiB] [--clients 1,8,32] [--bytes 256MiB]
        [--runs 3]
"""
import argparse
import multiprocessing as mp
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import UNICACHE, Proc, free_port, log, median, parse_size, table, wait_http  # noqa: E402


def fmt_size(n):
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def recv_exact(sock, view):
    got = 0
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            raise ConnectionError("closed")
        got += n


def read_line(sock, buf):
    """Reads until CRLF (small control lines); returns (line, leftover)."""
    while b"\r\n" not in buf:
        c = sock.recv(65536)
        if not c:
            raise ConnectionError("closed")
        buf += c
    line, _, rest = buf.partition(b"\r\n")
    return line, rest


class HttpKv:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _head(self):
        buf = b""
        while b"\r\n\r\n" not in buf:
            c = self.s.recv(65536)
            if not c:
                raise ConnectionError("closed")
            buf += c
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        return status, length, rest

    def put(self, key, value):
        self.s.sendall(b"PUT /v1/kv/bench/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
                       (key.hex().encode(), len(value)))
        self.s.sendall(value)
        status, length, rest = self._head()
        if length > len(rest):
            self.s.recv(length - len(rest), socket.MSG_WAITALL)
        assert status in (200, 201), status

    def delete(self, key):
        self.s.sendall(b"DELETE /v1/kv/bench/%s HTTP/1.1\r\nHost: x\r\n\r\n" % key.hex().encode())
        status, length, rest = self._head()
        if length > len(rest):
            self.s.recv(length - len(rest), socket.MSG_WAITALL)

    def get(self, key, out):
        self.s.sendall(b"GET /v1/kv/bench/%s HTTP/1.1\r\nHost: x\r\n\r\n" % key.hex().encode())
        status, length, rest = self._head()
        assert status == 200 and length <= len(out), (status, length)
        out[:len(rest)] = rest
        recv_exact(self.s, out[len(rest):length])
        return length


class RedisKv:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def put(self, key, value):
        head = b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n" % (len(key), key, len(value))
        self.s.sendall(head)
        self.s.sendall(value)
        self.s.sendall(b"\r\n")
        line, _ = read_line(self.s, b"")
        assert line == b"+OK", line

    def delete(self, key):
        self.s.sendall(b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(key), key))
        line, _ = read_line(self.s, b"")
        assert line.startswith(b":"), line

    def get(self, key, out):
        self.s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
        line, rest = read_line(self.s, b"")
        n = int(line[1:])
        assert n >= 0 and n <= len(out)
        take = min(len(rest), n)
        out[:take] = rest[:take]
        recv_exact(self.s, out[take:n])
        tail = rest[take:]
        if len(tail) < 2:
            recv_exact(self.s, memoryview(bytearray(2 - len(tail))))
        return n


class ShmKv:
    """The shared-memory path: values are put from and got into one registered memfd region;
    only descriptors (key, offset, length) cross the node's Unix socket."""

    def __init__(self, port, socket_path, size):
        self.http = HttpKv(port)  # untimed deletes between cases
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
        from unicache.kv_local import LocalKvClient
        self.kv = LocalKvClient(socket_path, 2 * size)
        self.pool = self.kv.array()
        self.value = self.pool[:size]
        self.out = self.pool[size:]

    def put(self, key, value):
        self.kv.put("bench", key, self.value)

    def delete(self, key):
        self.http.delete(key)

    def get(self, key, out):
        n = self.kv.get("bench", key, self.out)
        assert n is not None
        return n


def make_client(kind, port, size):
    if kind == "unicache":
        return HttpKv(port)
    if kind == "unicache-shm":
        c = ShmKv(port[0], port[1], size)
        c.value[:] = memoryview(os.urandom(size))
        return c
    return RedisKv(port)


def client_proc(kind, port, size, ops, cid, run, warmup, barrier, q):
    value = memoryview(os.urandom(size))
    out = memoryview(bytearray(size))
    c = make_client(kind, port, size)
    keys = [f"r{run}-c{cid}-{i}".encode() for i in range(ops)]
    put_lat, get_lat = [], []
    if warmup:  # untimed: the same puts and deletes once, so the server runs in steady state
        for k in keys:
            c.put(b"w" + k, value)
        for k in keys:
            c.delete(b"w" + k)
    barrier.wait()
    t0 = time.perf_counter()
    for k in keys:
        t = time.perf_counter()
        c.put(k, value)
        put_lat.append(time.perf_counter() - t)
    t1 = time.perf_counter()
    barrier.wait()
    t2 = time.perf_counter()
    for k in keys:
        t = time.perf_counter()
        assert c.get(k, out) == size
        get_lat.append(time.perf_counter() - t)
    t3 = time.perf_counter()
    for k in keys:  # untimed: free the memory for the next case
        c.delete(k)
    q.put((put_lat, get_lat, t0, t1, t2, t3))


def run_case(kind, port, size, clients, total_bytes, run, warmup):
    ops = max(2, total_bytes // (size * clients))
    barrier = mp.Barrier(clients)
    q = mp.Queue()
    procs = [mp.Process(target=client_proc, args=(kind, port, size, ops, i, run, warmup, barrier, q))
             for i in range(clients)]
    for p in procs:
        p.start()
    res = [q.get() for _ in procs]
    for p in procs:
        p.join()
    out = {}
    for phase, (li, a, b) in (("put", (0, 2, 3)), ("get", (1, 4, 5))):
        lat = sorted(x for r in res for x in r[li])
        wall = max(r[b] for r in res) - min(r[a] for r in res)
        out[phase] = {
            "gbps": len(lat) * size / wall / 1e9,
            "p50_ms": lat[len(lat) // 2] * 1e3,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
        }
    return out


def median_case(cases):
    """Per phase and metric, the median over the runs of one case."""
    return {phase: {m: median([c[phase][m] for c in cases]) for m in cases[0][phase]}
            for phase in cases[0]}


def iperf_ceiling(workdir):
    port = free_port()
    srv = Proc(["iperf3", "-s", "-1", "-p", str(port)], os.path.join(workdir, "iperf.log"))
    time.sleep(0.5)
    try:
        r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "3", "-J"],
                           capture_output=True, text=True, check=True)
        return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 8e9
    finally:
        srv.stop()


def prefix_match_latency(port, socket_path, n=1000, rounds=300):
    """Returns p50/p99 ms of a 1,000-key prefix match over HTTP (the Python KvClient, encoding
    included) and over the shared-memory socket (the request frame built once: the node's
    decode, lookups and answer plus the Unix-socket round trip)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    from unicache.kv import KvClient
    from unicache.kv_local import LocalKvClient, PREFIX_MATCH, encode_request
    from unicache.token_hash import block_hashes
    kv = KvClient(f"127.0.0.1:{port}")
    keys = block_hashes(list(range(n * 16)), "bench", 16)
    for i in range(0, n, 250):
        kv.batch_put("bench", keys[i:i + 250], [b"x" * 64] * len(keys[i:i + 250]))
    local = LocalKvClient(socket_path, 4096)
    payload = encode_request(PREFIX_MATCH, ns="bench", items=[(k, 0, 0, 0) for k in keys])

    def over_http():
        m, _ = kv.prefix_match("bench", keys)
        assert m == n

    def over_socket():
        matched, _ = local._exchange(PREFIX_MATCH, payload)
        assert matched == n

    out = []
    for fn in (over_http, over_socket):
        lat = []
        for _ in range(rounds):
            t = time.perf_counter()
            fn()
            lat.append(time.perf_counter() - t)
        lat.sort()
        out.append((lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3))
    local.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256KiB,1MiB,4MiB,32MiB")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--no-warmup", action="store_true",
                    help="skip the untimed warm-up round of puts and deletes before each case")
    ap.add_argument("--serve-args", default="", help="more `unicache serve` flags, one string")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per case, the variants alternating; the tables show medians")
    ap.add_argument("--bytes", default="256MiB", help="bytes moved per phase and case (at least 2 ops per client)")
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    clients = [int(c) for c in args.clients.split(",")]
    total = parse_size(args.bytes)
    workdir = tempfile.mkdtemp(prefix="kv-bench-")
    procs = []
    try:
        uport = free_port()
        origin = os.path.join(workdir, "origin")
        os.makedirs(origin)
        procs.append(Proc([UNICACHE, "serve", "--listen", f"127.0.0.1:{uport}", "--origin", origin,
                           "--cache-dir", os.path.join(workdir, "cache"), "--ram", "64MiB",
                           "--kv-namespace", "bench=3GiB", *shlex.split(args.serve_args)],
                          os.path.join(workdir, "unicache.log")))
        wait_http(f"http://127.0.0.1:{uport}/healthz")
        usock = os.path.join(workdir, "cache", "kv.sock")  # the node's default --kv-socket
        rport = free_port()
        procs.append(Proc(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--maxmemory", "8gb", "--maxmemory-policy",
                           "allkeys-lru", "--proto-max-bulk-len", "128mb"],
                          os.path.join(workdir, "redis.log")))
        time.sleep(0.5)
        ceiling = iperf_ceiling(workdir)
        log(f"loopback TCP ceiling (iperf3, 1 stream): {ceiling:.2f} GB/s")
        rows = []
        run = 0
        for size in sizes:
            for c in clients:
                variants = [("unicache", uport), ("unicache-shm", (uport, usock)), ("redis", rport)]
                runs = {kind: [] for kind, _ in variants}
                for _ in range(args.runs):  # the variants alternate, so drift hits all of them
                    for kind, port in variants:
                        run += 1
                        runs[kind].append(run_case(kind, port, size, c, total, run, not args.no_warmup))
                        # Clients delete their keys after a case; FLUSHALL makes sure of it for Redis.
                        if kind == "redis":
                            s = socket.create_connection(("127.0.0.1", rport))
                            s.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
                            s.recv(100)
                            s.close()
                r = {kind: median_case(cases) for kind, cases in runs.items()}
                for phase in ("put", "get"):
                    u, sh, rd = (r[k][phase] for k in ("unicache", "unicache-shm", "redis"))
                    rows.append([fmt_size(size), c, phase, f"{u['gbps']:.2f}", f"{sh['gbps']:.2f}",
                                 f"{rd['gbps']:.2f}", f"{u['gbps'] / rd['gbps']:.2f}x",
                                 f"{sh['gbps'] / rd['gbps']:.2f}x",
                                 f"{u['p50_ms']:.2f} / {u['p99_ms']:.2f}",
                                 f"{sh['p50_ms']:.2f} / {sh['p99_ms']:.2f}",
                                 f"{rd['p50_ms']:.2f} / {rd['p99_ms']:.2f}"])
                    log(" | ".join(str(x) for x in rows[-1]))
        (p50, p99), (sp50, sp99) = prefix_match_latency(uport, usock)
        print(f"loopback TCP ceiling (iperf3 -c 127.0.0.1 -t 3, one stream): {ceiling:.2f} GB/s; "
              f"each cell the median of {args.runs} runs\n")
        print(table(rows, ["value", "clients", "op", "unicache TCP GB/s", "unicache shm GB/s",
                           "redis GB/s", "TCP/redis", "shm/redis", "TCP p50/p99 ms",
                           "shm p50/p99 ms", "redis p50/p99 ms"]))
        print(f"\nprefix match of 1,000 keys, one node, one client (client-observed): "
              f"HTTP p50 {p50:.3f} ms, p99 {p99:.3f} ms; shared-memory socket p50 {sp50:.3f} ms, "
              f"p99 {sp99:.3f} ms")
    finally:
        for p in procs:
            p.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Read latency beside a hung origin (issue #14), side by side in one run: one node with a
healthy directory origin ("data") and an S3 origin ("hung") whose endpoint accepts connections
and never answers. Three kinds of reads of the healthy origin are timed, each one request at a
time on its own keep-alive connection:

  ram   an object that stays in the RAM tier
  ssd   objects cached on the SSD tier beforehand, read in rotation through a RAM tier too
        small to hold them (most reads are SSD hits; the hits per tier are counted)
  cold  objects read for the first time (misses served by the healthy origin)

Objects are --size bytes (default 1 MiB, one block).

each in two phases, interleaved repetition by repetition:

  quiet  nothing else runs
  flood  --flood connections keep a request to the hung origin outstanding at all times: each
         one waits on the hung origin, or in its executor's queue until --queue-deadline refuses
         it (503), and is sent again at once

Prints the exact command, then a markdown table of the medians over repetitions of each phase's
p50 and p99 (ms), and the ratio flood / quiet. Target: every p99 within 2x of quiet.

  bench/isolation.py [--reps 5] [--requests 100] [--size 1MiB] [--flood 300]
      [--queue-deadline 2s]
"""
import argparse
import http.client
import os
import select
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time

import benchlib as b

sys.path.insert(0, os.path.join(b.ROOT, "tests", "integration"))
from silent_server import SilentServer  # noqa: E402

MiB = 1 << 20


class Flood:
    """Keeps `n` requests to the hung origin outstanding, re-sending each as soon as answered."""

    def __init__(self, port, n):
        self.port, self.n = port, n
        self.stop_flag = threading.Event()
        self.answers = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def send(self, i):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(f"GET /v1/objects/hung/obj-{i}-{time.monotonic_ns()} HTTP/1.1\r\nHost: x\r\n"
                  "Connection: close\r\n\r\n".encode())
        return s

    def run(self):
        conns = {}
        for i in range(self.n):
            s = self.send(i)
            conns[s.fileno()] = (s, i)
        while not self.stop_flag.is_set():
            ready, _, _ = select.select(list(conns), [], [], 0.2)
            for fd in ready:
                s, i = conns.pop(fd)
                try:
                    s.recv(65536)
                except OSError:
                    pass
                s.close()
                self.answers += 1
                s = self.send(i)
                conns[s.fileno()] = (s, i)
        for s, _ in conns.values():
            s.close()

    def stop(self):
        self.stop_flag.set()
        self.thread.join()


def timed_reads(port, names):
    """Reads each object once, one after the other on one connection; returns ms per read."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    buf = bytearray(MiB)
    out = []
    for name in names:
        t = time.perf_counter()
        conn.request("GET", f"/v1/objects/data/{name}")
        r = conn.getresponse()
        if r.status != 200:
            raise RuntimeError(f"{name}: HTTP {r.status}")
        while r.readinto(buf):
            pass
        out.append((time.perf_counter() - t) * 1000)
    conn.close()
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def metric(port, series):
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100, help="reads per kind per phase")
    ap.add_argument("--size", type=b.parse_size, default=MiB)
    ap.add_argument("--flood", type=int, default=300, help="requests kept outstanding")
    ap.add_argument("--queue-deadline", default="2s")
    args = ap.parse_args()
    print("command:", shlex.join([os.path.relpath(sys.argv[0], b.ROOT)] + sys.argv[1:]))

    work = tempfile.mkdtemp(prefix="unicache-bench-isolation-")
    hung = SilentServer()
    node = None
    try:
        data = os.path.join(work, "data")
        os.makedirs(data)
        ssd_names = [f"ssd-{i}.bin" for i in range(64)]
        cold_names = [f"cold-{r}-{p}-{i}.bin" for r in range(args.reps) for p in ("quiet", "flood")
                      for i in range(args.requests)]
        for name in ["ram.bin"] + ssd_names + cold_names:
            b.make_file(os.path.join(data, name), args.size)
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
        hung_uri = f"s3://bucket?endpoint=http://127.0.0.1:{hung.port}&style=path&region=us-east-1"
        extra = ("--origin", f"hung={hung_uri}", "--block-size", "1MiB", "--immutable",
                 "--queue-deadline", args.queue_deadline)
        # A first node puts the SSD objects on the SSD tier; the measured node starts from it.
        node, port, cache = b.start_unicache(work, data, ram="512MiB", extra=extra)
        timed_reads(port, ssd_names)
        node.stop()
        node, port, _ = b.start_unicache(work, data, ram="16MiB", extra=extra, cache=cache)
        timed_reads(port, ["ram.bin"] * 20)
        results = {(k, p): [] for k in ("ram", "ssd", "cold") for p in ("quiet", "flood")}
        ssd_hits = {"quiet": 0.0, "flood": 0.0}
        refused = 0.0
        for r in range(args.reps):
            for phase in ("quiet", "flood"):
                flood = Flood(port, args.flood) if phase == "flood" else None
                if flood:
                    time.sleep(1)  # let it fill the hung origin's threads and queue
                ssd_before = metric(port, 'unicache_cache_hits_total{tier="ssd"}')
                n = args.requests
                rot = [ssd_names[(r * n + i) % len(ssd_names)] for i in range(n)]
                cold = cold_names[(2 * r + (phase == "flood")) * n:][:n]
                for kind, names in (("ram", ["ram.bin"] * n), ("ssd", rot), ("cold", cold)):
                    ms = timed_reads(port, names)
                    results[(kind, phase)].append((pct(ms, 50), pct(ms, 99)))
                ssd_hits[phase] += metric(port, 'unicache_cache_hits_total{tier="ssd"}') - ssd_before
                if flood:
                    flood.stop()
                b.log(f"rep {r + 1}/{args.reps} {phase} done")
        refused = metric(port, 'unicache_executor_refused_total{executor="origin hung",'
                               'reason="queue_deadline"}')
        rows = []
        for kind in ("ram", "ssd", "cold"):
            q50 = b.median([x[0] for x in results[(kind, "quiet")]])
            q99 = b.median([x[1] for x in results[(kind, "quiet")]])
            f50 = b.median([x[0] for x in results[(kind, "flood")]])
            f99 = b.median([x[1] for x in results[(kind, "flood")]])
            rows.append([kind, f"{q50:.2f}", f"{q99:.2f}", f"{f50:.2f}", f"{f99:.2f}",
                         f"{f99 / q99:.2f}x"])
        print(b.table(rows, ["read", "quiet p50 ms", "quiet p99 ms", "flood p50 ms",
                             "flood p99 ms", "p99 flood/quiet"]))
        print(f"\nSSD hits: quiet {ssd_hits['quiet']:.0f}, flood {ssd_hits['flood']:.0f} "
              f"(of {args.reps * args.requests} SSD-kind reads each); hung-origin requests refused "
              f"after the queue deadline: {refused:.0f}")
    finally:
        if node:
            node.stop()
        hung.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

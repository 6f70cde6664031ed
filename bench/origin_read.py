#!/usr/bin/env python3
"""Reading cloud objects through unicache vs straight from the origin, for Azure Blob (Azurite) and
S3 (s3rver), side by side in one run:

  direct   the objects read straight from the origin: one GET per object, Shared Key signed for
           Azure, a boto3-presigned URL for S3
  ranged   the same client reading each object in ranged GETs of one block each, one after the
           other: the requests a block cache has to send, and so the origin's rate for them
  cold     unicache cold misses: a fresh node and cache dir each run, default settings (one
           ranged origin request per block, sent in parallel by readahead)
  streamed the same with --fetch-run SIZE (default: the object size): each object's cold blocks
           come from one streamed origin GET, published block by block as they arrive
  hot      the streamed node read again: every block is a RAM-tier hit
  loaded   a control, not a target: direct again, while a busy loop beside it takes the share
           of one core the streamed node took (its CPU time over the streamed read's wall time,
           from /proc). On a machine whose cores the emulator shares with the node, it shows
           how much of the gap to direct is CPU taken from the emulator rather than time

Every node runs with --prefault-ram: a long-running node fills memory it has used before, while
a fresh process pays the kernel's first touch of every page (~16 us per 4 KiB on the VMs
measured), which no direct reader pays.

Objects are read one after the other. Every variant uses the same reader: one keep-alive
http.client connection per server, the body read with readinto() into one preallocated 1 MiB
buffer and discarded, so the reader costs little CPU and the server side is what is measured.
Direct Azure requests are Shared Key signed; direct S3 requests use boto3-presigned URLs. Usage:

  bench/origin_read.py [--objects 8] [--size 64MiB] [--runs 3] [--origins az,s3] [--readahead N]
      [--block-size SIZE]

Prints the exact command, then markdown tables of medians (MB/s) and ratios to direct.
--no-control skips the loaded variant.
Targets (issue #3): cold >= 0.9x direct, hot >= 5x direct.
"""
import argparse
import http.client
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests

import benchlib as b

sys.path.insert(0, os.path.join(b.ROOT, "tests", "integration"))
import cloud_servers as cs  # noqa: E402

CHUNK = 1 << 20
BUCKET = CONTAINER = "bench"


class Reader:
    """GETs URLs over one keep-alive connection per host:port, reading bodies with readinto()
    into one reused buffer; returns the bytes read."""

    def __init__(self):
        self.conns = {}
        self.buf = memoryview(bytearray(CHUNK))

    def get(self, url, headers=None):
        u = urllib.parse.urlsplit(url)
        conn = self.conns.get(u.netloc)
        if conn is None:
            conn = self.conns[u.netloc] = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
        target = u.path + ("?" + u.query if u.query else "")
        try:
            conn.request("GET", target, headers=headers or {})
            resp = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closed the idle keep-alive connection (e.g. while a node started).
            conn.close()
            conn.request("GET", target, headers=headers or {})
            resp = conn.getresponse()
        if resp.status not in (200, 206):
            body = resp.read()
            raise RuntimeError(f"GET {u.path}: HTTP {resp.status}: {body[:200]!r}")
        n = 0
        while True:
            k = resp.readinto(self.buf)
            if not k:
                break
            n += k
        return n

    def close(self):
        for c in self.conns.values():
            c.close()


# A busy loop that takes `duty` of one core in 2 ms periods.
BUSY_LOOP = """import sys, time
busy = float(sys.argv[1]) * 0.002
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < busy:
        pass
    time.sleep(0.002 - busy)
"""


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid`, all its threads included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def under_load(duty, fn):
    """Returns fn() run while a busy loop takes `duty` (0..0.95) of one core."""
    duty = min(max(duty, 0.0), 0.95)
    loop = subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(duty)])
    try:
        time.sleep(0.2)
        return fn()
    finally:
        loop.kill()
        loop.wait()


class Origin:
    """One emulator with the objects uploaded and a direct reader."""

    def __init__(self, kind, work, names, size):
        self.kind = kind
        self.session = requests.Session()
        if kind == "az":
            self.server = cs.start_azurite(work)
            cs.azure_create_container(self.session, self.server.port, CONTAINER)
        else:
            self.server = cs.start_s3rver(work)
            self.s3 = cs.s3_client(self.server.port)
            self.s3.create_bucket(Bucket=BUCKET)
        for i, name in enumerate(names):
            data = os.urandom(size)
            if kind == "az":
                cs.azure_put_blob(self.session, self.server.port, CONTAINER, name, data)
            else:
                self.s3.put_object(Bucket=BUCKET, Key=name, Body=data)
            b.log(f"  {kind}: uploaded {i + 1}/{len(names)}")

    def uri(self):
        if self.kind == "az":
            return cs.azure_origin_uri(CONTAINER, self.server.port)
        return cs.s3_origin_uri(BUCKET, self.server.port)

    def env(self):
        return cs.azure_env(self.server.port) if self.kind == "az" else cs.s3_env()

    def request(self, name, rng=None):
        """Returns (url, headers) of a direct GET of `name` (optionally one byte range)."""
        if self.kind == "az":
            path = cs.blob_path(CONTAINER, name)
            extra = {"x-ms-range": rng} if rng else {}
            return (cs.azure_url(self.server.port, path),
                    cs.azure_headers("GET", path, headers=extra))
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": name},
                                             ExpiresIn=3600)
        return url, ({"Range": rng} if rng else {})

    def read_direct(self, reader, name):
        return reader.get(*self.request(name))

    def read_ranged(self, reader, name, size, block):
        n = 0
        for off in range(0, size, block):
            n += reader.get(*self.request(name, f"bytes={off}-{min(size, off + block) - 1}"))
        return n

    def stop(self):
        self.server.stop()


def start_node(work, origin, args, extra=()):
    port = b.free_port()
    cache = tempfile.mkdtemp(prefix="cache-", dir=work)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_STORAGE_"))}
    env.update(origin.env())
    extra = ["--prefault-ram", *extra]
    if args.readahead is not None:
        extra += ["--readahead", str(args.readahead)]
    if args.block_size:
        extra += ["--block-size", args.block_size]
    extra += shlex.split(args.serve_args)
    p = b.Proc([b.UNICACHE, "serve", "--listen", f"127.0.0.1:{port}", "--origin",
                f"{origin.kind}={origin.uri()}", "--cache-dir", cache, "--ram", args.ram,
                "--ssd", "16GiB", "--immutable", *extra], cache + ".log", env=env)
    b.wait_http(f"http://127.0.0.1:{port}/healthz")
    return p, port, cache


def read_all(names, size, read_one):
    t = time.perf_counter()
    for name in names:
        got = read_one(name)
        if got != size:
            raise RuntimeError(f"{name}: read {got} bytes, expected {size}")
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=8)
    ap.add_argument("--size", default="64MiB", help="size of each object")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--origins", default="az,s3")
    ap.add_argument("--readahead", type=int, default=None, help="unicache --readahead (default: its own)")
    ap.add_argument("--block-size", default=None, help="unicache --block-size (default: its own)")
    ap.add_argument("--ram", default="2GiB", help="unicache RAM tier (should hold all objects)")
    ap.add_argument("--fetch-run", default=None, help="unicache --fetch-run of the streamed variant "
                    "(default: the object size)")
    ap.add_argument("--serve-args", default="", help="more `unicache serve` flags, one string")
    ap.add_argument("--no-control", action="store_true", help="skip the loaded direct variant")
    args = ap.parse_args()
    print("command: bench/origin_read.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]) + "\n")
    reason = cs.missing_binaries()
    if reason:
        sys.exit(reason)
    size = b.parse_size(args.size)
    names = [f"shard/{i:05d}.bin" for i in range(args.objects)]
    total = size * len(names)
    work = tempfile.mkdtemp(prefix="unicache-bench-origin-")
    origins, results = [], {}
    try:
        for kind in args.origins.split(","):
            b.log(f"starting {kind} and uploading {len(names)} x {size >> 20} MiB")
            o = Origin(kind, work, names, size)
            origins.append(o)
            res = results[kind] = {"direct": [], "ranged": [], "cold": [], "streamed": [], "hot": [],
                                   "loaded": [], "node_share": []}
            block = b.parse_size(args.block_size or "4MiB")
            fetch_run = args.fetch_run or str(max(size, 2 * block))
            reader = Reader()

            def via(port):
                return lambda name: reader.get(f"http://127.0.0.1:{port}/v1/objects/{kind}/{name}")

            def direct(name):
                return o.read_direct(reader, name)

            def ranged(name):
                return o.read_ranged(reader, name, size, block)

            read_all(names, size, direct)  # warm the emulator's page cache and connections
            for run in range(args.runs):
                b.log(f"{kind}: run {run + 1}/{args.runs}")
                res["direct"].append(read_all(names, size, direct))
                res["ranged"].append(read_all(names, size, ranged))
                for variant, extra in (("cold", []), ("streamed", ["--fetch-run", fetch_run])):
                    node, port, cache = start_node(work, o, args, extra)
                    try:
                        cpu = cpu_seconds(node.p.pid)
                        res[variant].append(read_all(names, size, via(port)))
                        if variant == "streamed":
                            res["node_share"].append((cpu_seconds(node.p.pid) - cpu) /
                                                     res[variant][-1])
                            res["hot"].append(read_all(names, size, via(port)))
                    finally:
                        node.stop()
                        shutil.rmtree(cache, ignore_errors=True)
                if not args.no_control:
                    res["loaded"].append(under_load(res["node_share"][-1],
                                                    lambda: read_all(names, size, direct)))
            reader.close()
            o.stop()
        print(f"{len(names)} objects x {size >> 20} MiB = {total >> 20} MiB per origin, "
              f"{args.runs} runs, medians (seconds for all objects, sequential reads)\n")
        label = {"az": "Azure Blob (Azurite)", "s3": "S3 (s3rver)"}
        rows = []
        for kind, res in results.items():
            med = {k: b.median(v) for k, v in res.items()}
            mbps = {k: total / v / 1e6 for k, v in med.items()}
            rows.append([label[kind], f"{mbps['direct']:.0f}", f"{mbps['ranged']:.0f}",
                         f"{mbps['cold']:.0f}", f"{mbps['streamed']:.0f}", f"{mbps['hot']:.0f}",
                         f"{med['direct'] / med['cold']:.2f}x", f"{med['ranged'] / med['cold']:.2f}x",
                         f"{med['direct'] / med['streamed']:.2f}x",
                         f"{med['direct'] / med['hot']:.2f}x"])
        print(b.table(rows, ["origin", "direct MB/s", "ranged MB/s", "unicache cold MB/s",
                             "unicache streamed cold MB/s", "unicache hot MB/s",
                             "cold vs direct (target >= 0.9x)", "cold vs ranged",
                             "streamed vs direct (target >= 0.9x)",
                             "hot vs direct (target >= 5x)"]))
        if not args.no_control:
            print("\ncontrol: direct with a busy loop taking the streamed node's share of a core\n")
            rows = []
            for kind, res in results.items():
                med = {k: b.median(v) for k, v in res.items()}
                rows.append([label[kind], f"{med['node_share'] * 100:.0f}%",
                             f"{total / med['loaded'] / 1e6:.0f}",
                             f"{med['direct'] / med['loaded']:.2f}x",
                             f"{med['loaded'] / med['streamed']:.2f}x"])
            print(b.table(rows, ["origin", "node CPU (share of one core)", "loaded direct MB/s",
                                 "loaded vs direct", "streamed vs loaded direct"]))
        print("\nall runs (seconds; node_share: fraction of one core):")
        for kind, res in results.items():
            for k, v in res.items():
                if v:
                    print(f"  {kind} {k}: " + ", ".join(f"{x:.2f}" for x in v))
    finally:
        for o in origins:
            o.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checkpoint fan-out: N readers load the same large file at once (a checkpoint read by every
GPU of a job). Side by side in one run, the same readers read:

  cluster   a 3-node unicache cluster, cold (fresh nodes and cache dirs each run), each reader a
            `unicache get --peers ...` process on the direct read path
  nginx     the origin directory served statically by nginx (an HTTP origin), each reader curl
  cat       the origin file itself from the page cache, each reader `cat`

Reports per variant: aggregate throughput (readers x size / wall time), p50/p99 per-reader time,
and for the cluster the origin bytes (must be 1x the file: one origin fetch per block).
Medians of --runs. Usage: bench/checkpoint_fanout.py [--size 2GiB] [--readers 32] [--runs 3]
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

import benchlib as b


def fan_out(cmds):
    """Starts every command at once (stdout to /dev/null); returns (wall s, [per-reader s])."""
    times = [0.0] * len(cmds)
    start = time.perf_counter()

    def one(i):
        t = time.perf_counter()
        subprocess.run(cmds[i], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[i] = time.perf_counter() - t

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(cmds))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, times


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def metric_sum(port, prefix):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(prefix))


def run_cluster(work, origin, size, readers, block):
    ports = [b.free_port() for _ in range(3)]
    peers = ",".join(f"127.0.0.1:{p}" for p in ports)
    ram = max(256 << 20, int(size / 3 * 1.5))
    procs = []
    try:
        for p in ports:
            cache = os.path.join(work, f"cache-{p}")
            procs.append(b.Proc([b.UNICACHE, "serve", "--listen", f"127.0.0.1:{p}", "--peers", peers,
                                 "--origin", f"data={origin}", "--cache-dir", cache,
                                 "--ram", str(ram), "--ssd", "8GiB", "--block-size", block],
                                os.path.join(work, f"node-{p}.log")))
        for p in ports:
            b.wait_http(f"http://127.0.0.1:{p}/healthz")
        cmd = [b.UNICACHE, "get", "--peers", peers, "data/ckpt.bin", "-o", "-"]
        wall, times = fan_out([cmd] * readers)
        origin_bytes = sum(metric_sum(p, 'unicache_origin_bytes_total{origin="data"}') for p in ports)
        return wall, times, origin_bytes
    finally:
        for p in procs:
            p.stop()
        for p in ports:
            shutil.rmtree(os.path.join(work, f"cache-{p}"), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="2GiB")
    ap.add_argument("--readers", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--block-size", default="4MiB")
    args = ap.parse_args()
    size = b.parse_size(args.size)
    work = tempfile.mkdtemp(prefix="uc-fanout-")
    origin = os.path.join(work, "origin")
    os.makedirs(origin)
    path = os.path.join(origin, "ckpt.bin")
    b.make_file(path, size)
    nginx, nginx_port = b.start_nginx(work, origin)
    results = {"cluster": [], "nginx": [], "cat": []}
    origin_ratio = []
    try:
        b.wait_http(f"http://127.0.0.1:{nginx_port}/ckpt.bin")
        for run in range(args.runs):
            b.log(f"run {run + 1}/{args.runs}")
            wall, times, ob = run_cluster(work, origin, size, args.readers, args.block_size)
            results["cluster"].append((wall, times))
            origin_ratio.append(ob / size)
            url = f"http://127.0.0.1:{nginx_port}/ckpt.bin"
            results["nginx"].append(fan_out([["curl", "-sf", "-o", "/dev/null", url]] * args.readers))
            results["cat"].append(fan_out([["cat", path]] * args.readers))
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    total = size * args.readers
    agg = {}
    for name, runs in results.items():
        walls = [w for w, _ in runs]
        agg[name] = total / b.median(walls) / 1e9
        p50 = b.median([pct(t, 50) for _, t in runs])
        p99 = b.median([pct(t, 99) for _, t in runs])
        rows.append([name, f"{agg[name]:.2f}", f"{p50:.2f}", f"{p99:.2f}",
                     f"{b.median(origin_ratio):.3f}x" if name == "cluster" else "-"])
    for r in rows:
        r.append(f"{agg[r[0]] / agg['nginx']:.2f}")
    print(f"{args.readers} readers x {b.fmt_size(size) if hasattr(b, 'fmt_size') else args.size}, "
          f"median of {args.runs} runs, block {args.block_size}")
    print(b.table(rows, ["variant", "aggregate GB/s", "p50 reader s", "p99 reader s",
                         "origin bytes / file", "vs nginx"]))
    print(f"origin bytes per run (cluster): {[f'{x:.3f}x' for x in origin_ratio]}")


if __name__ == "__main__":
    main()

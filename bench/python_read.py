#!/usr/bin/env python3
"""Hot reads of one object through the Python client, side by side in one run:

  curl        the node's object API read with curl (the baseline: no Python at all)
  read_all    unicache.Client.read_all(): a new buffer per read (bytearray)
  readinto    unicache.Client.readinto() into one preallocated buffer

The object is read once first so every timed read is a RAM-tier hit; each run times every
reader once, interleaved. Usage: bench/python_read.py [--size 256MiB] [--runs 5]
Prints a markdown table of medians (MiB/s) and ratios to curl.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import benchlib as b

sys.path.insert(0, os.path.join(b.ROOT, "python"))
import unicache  # noqa: E402


def seconds(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="256MiB")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    size = b.parse_size(args.size)
    work = tempfile.mkdtemp(prefix="unicache-bench-")
    origin = os.path.join(work, "origin")
    os.makedirs(origin)
    b.make_file(os.path.join(origin, "big.bin"), size)
    node = None
    try:
        node, port, _ = b.start_unicache(work, origin, ram=f"{max(1, 2 * size >> 30)}GiB",
                                         extra=["--immutable"])
        url = f"http://127.0.0.1:{port}/v1/objects/data/big.bin"
        client = unicache.Client(peers=f"127.0.0.1:{port}")
        buf = bytearray(size)
        b.curl_seconds(url)  # fill the RAM tier
        assert len(client.read_all("data", "big.bin")) == size
        results = {"curl": [], "read_all": [], "readinto": []}
        for run in range(args.runs):
            b.log(f"run {run + 1}/{args.runs}")
            results["curl"].append(b.curl_seconds(url))
            results["read_all"].append(seconds(lambda: client.read_all("data", "big.bin")))
            results["readinto"].append(seconds(lambda: client.readinto("data", "big.bin", buf)))
        mibps = {k: size / b.median(v) / (1 << 20) for k, v in results.items()}
        rows = [[k, f"{mibps[k]:.0f}", f"{b.median(results[k]):.3f}", f"{mibps[k] / mibps['curl']:.2f}x"]
                for k in results]
        print(f"object {size >> 20} MiB (RAM-tier hits), {args.runs} runs, medians\n")
        print(b.table(rows, ["reader", "MiB/s", "seconds", "vs curl"]))
    finally:
        if node:
            node.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

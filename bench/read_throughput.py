#!/usr/bin/env python3
"""Single-node sequential read throughput of one large object, side by side in one run:

  cat        the origin file straight from the page cache (upper bound of the origin)
  nginx      nginx serving the origin directory statically (sendfile), read with curl
  hot        unicache hot hits (object in the RAM tier), read with curl
  cold       unicache cold misses (fresh node and cache dir each run), read with curl

Usage: bench/read_throughput.py [--size 1GiB] [--runs 5]
Prints a markdown table of medians (GB/s) and ratios to nginx.
"""
import argparse
import os
import shutil
import tempfile

import benchlib as b


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1GiB")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    size = b.parse_size(args.size)
    work = tempfile.mkdtemp(prefix="unicache-bench-")
    os.chmod(work, 0o755)
    origin = os.path.join(work, "origin")
    os.makedirs(origin)
    path = os.path.join(origin, "big.bin")
    b.log(f"making a {size >> 20} MiB object")
    b.make_file(path, size)
    procs = []
    try:
        nginx, nport = b.start_nginx(work, origin)
        procs.append(nginx)
        node, uport, _ = b.start_unicache(work, origin, ram="2GiB", extra=["--immutable"])
        procs.append(node)
        nginx_url = f"http://127.0.0.1:{nport}/big.bin"
        hot_url = f"http://127.0.0.1:{uport}/v1/objects/data/big.bin"
        b.curl_seconds(nginx_url)  # warm the page cache for nginx and cat
        b.curl_seconds(hot_url)    # fill the RAM tier
        results = {k: [] for k in ("cat", "nginx", "hot", "cold")}
        for run in range(args.runs):
            b.log(f"run {run + 1}/{args.runs}")
            results["cat"].append(b.timed(["cat", path]))
            results["nginx"].append(b.curl_seconds(nginx_url))
            results["hot"].append(b.curl_seconds(hot_url))
            cold, cport, ccache = b.start_unicache(work, origin, ram="2GiB", extra=["--immutable"])
            try:
                results["cold"].append(b.curl_seconds(f"http://127.0.0.1:{cport}/v1/objects/data/big.bin"))
            finally:
                cold.stop()
                shutil.rmtree(ccache, ignore_errors=True)
        gbps = {k: size / b.median(v) / 1e9 for k, v in results.items()}
        rows = []
        for k, label in (("cat", "cat origin file (page cache)"), ("nginx", "nginx static, sendfile"),
                         ("hot", "unicache hot hit (RAM tier)"), ("cold", "unicache cold miss (origin read)")):
            rows.append([label, f"{gbps[k]:.2f}", f"{b.median(results[k]):.3f}",
                         f"{gbps[k] / gbps['nginx']:.2f}x"])
        print(f"object {size >> 20} MiB, {args.runs} runs, medians\n")
        print(b.table(rows, ["reader", "GB/s", "seconds", "vs nginx"]))
    finally:
        for p in procs:
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""FUSE read benchmark (issue #5): `unicache mount` vs `rclone mount --vfs-cache-mode full` vs
reading the origin directory directly, over the same local origin, in one run.

Workloads: one big file read sequentially (1 MiB reads) and a tree of many small files (each
opened and read whole). Phases, each the median of --runs:
  cold       unicache: a fresh node (empty cache) and a fresh mount.  rclone: a fresh VFS cache
             dir and a fresh mount. The origin files themselves are in the page cache (as for
             "direct"), so "cold" measures the cache's miss path, not a disk.
  hot        the same mount again: the cache is warm, and so is the kernel page cache of the
             mount (unicache sets keep_cache for unchanged/immutable objects).
  hot-remount  unmount and mount again with the same node / rclone cache dir: the kernel page
             cache of the mount is gone, so every read goes through FUSE to the cache
             (unicache: native client -> node RAM tier; rclone: its on-disk VFS cache).
  hot-dropped  (only as root) like "hot" after `echo 3 > /proc/sys/vm/drop_caches`.
  direct     the origin directory read directly (page cache warm).
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import UNICACHE, log, median  # noqa: E402
from benchlib import start_unicache, table  # noqa: E402


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/mounts") as f:
        return any(line.split()[1] == path for line in f)


def wait_mounted(path, proc, timeout=30):
    deadline = time.time() + timeout
    while not is_mounted(path):
        if proc.p.poll() is not None:
            raise RuntimeError(f"mount at {path} exited with {proc.p.returncode}")
        if time.time() > deadline:
            raise RuntimeError(f"mount at {path} did not appear")
        time.sleep(0.05)
    # rclone answers the mount before its first listing is ready; touch the root.
    os.listdir(path)


class Mounted:
    def __init__(self, args, mnt, log_path):
        os.makedirs(mnt, exist_ok=True)
        self.mnt = mnt
        self.proc = benchlib.Proc(args, log_path)
        wait_mounted(mnt, self.proc)

    def stop(self):
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt], check=False)
        deadline = time.time() + 20
        while self.proc.p.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        self.proc.stop()
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-uz", self.mnt], check=False)


def mount_unicache(port, mnt, workdir):
    return Mounted([UNICACHE, "mount", "--peers", f"127.0.0.1:{port}", "data", mnt, "--immutable"],
                   mnt, os.path.join(workdir, "unicache-mount.log"))


def mount_rclone(origin, mnt, cache_dir, workdir):
    return Mounted(["rclone", "mount", f":local:{origin}", mnt, "--vfs-cache-mode", "full",
                    "--cache-dir", cache_dir, "--read-only", "--config", "/dev/null"],
                   mnt, os.path.join(workdir, "rclone-mount.log"))


def read_big(path):
    """Returns MB/s of reading `path` sequentially with 1 MiB reads."""
    buf = bytearray(1 << 20)
    total = 0
    t = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            total += n
    return total / (time.perf_counter() - t) / 1e6


def read_tree(root, rels):
    """Returns (files/s, MB/s) of opening and reading every file of `rels` below `root`."""
    total = 0
    t = time.perf_counter()
    for rel in rels:
        with open(os.path.join(root, rel), "rb", buffering=0) as f:
            total += len(f.read())
    dt = time.perf_counter() - t
    return len(rels) / dt, total / dt / 1e6


def drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def make_dataset(origin, size, files, min_file, max_file):
    os.makedirs(origin, exist_ok=True)
    log(f"making a {size} byte file and {files} small files in {origin}")
    benchlib.make_file(os.path.join(origin, "big.bin"), size)
    rng = random.Random(1)
    blob = os.urandom(max_file)
    rels = []
    per_dir = 100
    for i in range(files):
        rel = f"tree/d{i // per_dir:04d}/f{i:06d}.bin"
        p = os.path.join(origin, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        n = rng.randint(min_file, max_file)
        with open(p, "wb") as f:
            f.write(blob[:n])
        rels.append(rel)
    return rels


def measure(name, root, rels, results, phase, runs_big, runs_tree):
    big = os.path.join(root, "big.bin")
    results.setdefault((name, phase), {})
    results[(name, phase)]["big"] = runs_big(big)
    results[(name, phase)]["tree"] = runs_tree(root, rels)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="2GiB", help="size of the big file (default 2GiB)")
    ap.add_argument("--files", type=int, default=10000, help="small files (default 10000)")
    ap.add_argument("--min-file", default="4KiB")
    ap.add_argument("--max-file", default="64KiB")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ram", default="3GiB", help="the node's RAM tier")
    ap.add_argument("--no-rclone", action="store_true")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()

    workdir = args.workdir or tempfile.mkdtemp(prefix="unicache-fuse-bench-")
    origin = os.path.join(workdir, "origin")
    rels = make_dataset(origin, benchlib.parse_size(args.size), args.files, benchlib.parse_size(args.min_file),
                        benchlib.parse_size(args.max_file))
    tree_bytes = sum(os.path.getsize(os.path.join(origin, r)) for r in rels)
    can_drop = os.geteuid() == 0
    results = {}  # (system, phase) -> {"big": [MB/s], "tree": [(files/s, MB/s)]}
    cleanup = []

    def add(system, phase, workload, value):
        results.setdefault((system, phase), {}).setdefault(workload, []).append(value)

    try:
        # Direct: warm the origin's page cache once, then measure.
        read_big(os.path.join(origin, "big.bin"))
        read_tree(origin, rels)
        for _ in range(args.runs):
            add("direct", "hot", "big", read_big(os.path.join(origin, "big.bin")))
            add("direct", "hot", "tree", read_tree(origin, rels))

        systems = ["unicache"] + ([] if args.no_rclone or shutil.which("rclone") is None else ["rclone"])
        for system in systems:
            for run in range(args.runs):
                log(f"{system}: run {run + 1}/{args.runs}")
                mnt = os.path.join(workdir, f"mnt-{system}")
                if system == "unicache":
                    node, port, _ = start_unicache(workdir, origin, ram=args.ram, extra=["--immutable"])
                    cleanup.append(node.stop)
                    mount = lambda: mount_unicache(port, mnt, workdir)  # noqa: E731
                else:
                    cache = os.path.join(workdir, f"rclone-cache-{run}")
                    mount = lambda: mount_rclone(origin, mnt, cache, workdir)  # noqa: E731
                for workload in ("big", "tree"):
                    m = mount()
                    cleanup.append(m.stop)
                    reader = (lambda r: read_big(os.path.join(r, "big.bin"))) if workload == "big" \
                        else (lambda r: read_tree(r, rels))
                    add(system, "cold", workload, reader(m.mnt))
                    add(system, "hot", workload, reader(m.mnt))
                    if can_drop and drop_caches():
                        add(system, "hot-dropped", workload, reader(m.mnt))
                    m.stop()
                    m = mount()
                    cleanup.append(m.stop)
                    add(system, "hot-remount", workload, reader(m.mnt))
                    m.stop()
                if system == "unicache":
                    node.stop()
                else:
                    shutil.rmtree(cache, ignore_errors=True)
    finally:
        for stop in reversed(cleanup):
            try:
                stop()
            except Exception as e:  # noqa: BLE001
                log(f"cleanup: {e}")

    def big(system, phase):
        v = results.get((system, phase), {}).get("big")
        return median(v) if v else None

    def tree(system, phase):
        v = results.get((system, phase), {}).get("tree")
        return (median([x[0] for x in v]), median([x[1] for x in v])) if v else None

    def fmt(x):
        return "-" if x is None else f"{x:.0f}"

    rows = []
    for system in ("unicache", "rclone", "direct"):
        for phase in ("cold", "hot", "hot-dropped", "hot-remount"):
            b, t = big(system, phase), tree(system, phase)
            if b is None and t is None:
                continue
            rows.append([system, phase, fmt(b), fmt(t[0] if t else None), fmt(t[1] if t else None)])
    print(f"\nbig file: {benchlib.parse_size(args.size)} bytes; tree: {len(rels)} files, {tree_bytes} bytes; "
          f"medians of {args.runs} runs\n")
    print(table(rows, ["system", "phase", "big file MB/s", "small files/s", "small files MB/s"]))
    ratios = []
    for phase in ("cold", "hot", "hot-dropped", "hot-remount"):
        u, r = big("unicache", phase), big("rclone", phase)
        ut, rt = tree("unicache", phase), tree("rclone", phase)
        if u and r:
            ratios.append([phase, f"{u / r:.2f}x", f"{ut[0] / rt[0]:.2f}x" if ut and rt else "-"])
    if ratios:
        print()
        print(table(ratios, ["phase", "unicache / rclone, big file", "unicache / rclone, small files"]))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

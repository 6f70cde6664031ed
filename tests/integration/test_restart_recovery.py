"""Restart recovery: blocks on the SSD tier survive SIGKILL; a corrupt block file is dropped and
re-fetched from the origin, never served."""
import glob
import os
import time

import requests

from conftest import metric, object_url, write_random

BS = 1 << 20
BLOCK_HEADER = 4096  # bytes before the data in a block file (kBlockDataOffset, src/store/block_file.h)

FILES = {"a.bin": 3 * BS + 5, "b.bin": BS, "c/d.bin": 100_000, "c/e.bin": 2 * BS + BS // 2, "one.bin": 1}


def read_all(node, files):
    for name, data in files.items():
        r = requests.get(object_url(node, name), timeout=60)
        assert r.status_code == 200, (name, r.text)
        assert r.content == data, name


def wait_for_ssd(node, want_bytes, timeout=15):
    """Polls the SSD tier gauge until it holds `want_bytes` of blocks (data + headers)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if metric(node.metrics(), 'unicache_tier_bytes{tier="ssd"}') >= want_bytes:
            return
        time.sleep(0.1)
    raise AssertionError("blocks did not reach the SSD tier: " + node.metrics())


def block_files(cache_dir):
    return sorted(glob.glob(os.path.join(cache_dir, "**", "*.blk"), recursive=True))


def test_kill_restart_corrupt(tmp_path, make_node):
    origin = tmp_path / "origin"
    files = {name: write_random(origin / name, size, seed=i) for i, (name, size) in enumerate(FILES.items())}
    blocks = sum((len(d) + BS - 1) // BS for d in files.values())
    cache = str(tmp_path / "cache")
    args = ["--block-size", "1MiB", "--ram", "64MiB", "--ssd", "1GiB"]

    # 1. Cold read, then SIGKILL once the blocks are on SSD (they get there within ~2 s).
    node = make_node(str(origin), extra=args, cache_dir=cache)
    read_all(node, files)
    assert metric(node.metrics(), 'unicache_origin_bytes_total{origin="data"}') == sum(map(len, files.values()))
    wait_for_ssd(node, sum(map(len, files.values())) + blocks * BLOCK_HEADER)
    node.kill()
    assert node.proc.returncode == -9
    assert len(block_files(cache)) == blocks

    # 2. Restart on the same cache dir: everything comes from SSD, nothing from the origin.
    node = make_node(str(origin), extra=args, cache_dir=cache)
    read_all(node, files)
    m = node.metrics()
    assert metric(m, 'unicache_origin_bytes_total{origin="data"}') == 0
    assert metric(m, 'unicache_cache_hits_total{tier="ssd"}') >= blocks
    assert metric(m, "unicache_cache_misses_total") == 0
    r = requests.get(object_url(node, "a.bin"), headers={"Range": f"bytes={BS - 3}-{BS + 3}"}, timeout=30)
    assert r.status_code == 206 and r.content == files["a.bin"][BS - 3:BS + 4]
    node.stop()
    assert node.proc.returncode == 0

    # 3. Flip one byte in the middle of one full block file's data.
    victims = [p for p in block_files(cache) if os.path.getsize(p) == BS + BLOCK_HEADER]
    assert victims
    victim = victims[len(victims) // 2]
    with open(victim, "r+b") as f:
        f.seek(BLOCK_HEADER + BS // 2)
        byte = f.read(1)
        f.seek(BLOCK_HEADER + BS // 2)
        f.write(bytes([byte[0] ^ 0xFF]))

    # 4. Restart: right bytes everywhere; only the corrupt block is read from the origin again.
    node = make_node(str(origin), extra=args, cache_dir=cache)
    read_all(node, files)
    read_all(node, files)
    origin_bytes = metric(node.metrics(), 'unicache_origin_bytes_total{origin="data"}')
    assert 0 < origin_bytes <= BS
    assert metric(node.metrics(), 'unicache_cache_hits_total{tier="ssd"}') >= blocks - 1


def test_torn_and_foreign_files_are_ignored(tmp_path, make_node):
    """A truncated block file and a stray temp file in the cache dir do not break startup."""
    origin = tmp_path / "origin"
    files = {"x.bin": write_random(origin / "x.bin", 3 * BS, seed=11)}
    cache = str(tmp_path / "cache")
    args = ["--block-size", "1MiB", "--ram", "64MiB"]
    node = make_node(str(origin), extra=args, cache_dir=cache)
    read_all(node, files)
    wait_for_ssd(node, 3 * (BS + BLOCK_HEADER))
    node.kill()
    victim = block_files(cache)[0]
    with open(victim, "r+b") as f:
        f.truncate(BLOCK_HEADER + 1000)  # torn write
    with open(victim + ".tmp", "wb") as f:  # a write cut short by the crash
        f.write(b"partial")
    node = make_node(str(origin), extra=args, cache_dir=cache)
    read_all(node, files)
    origin_bytes = metric(node.metrics(), 'unicache_origin_bytes_total{origin="data"}')
    assert 0 < origin_bytes <= BS
    assert not os.path.exists(victim + ".tmp")

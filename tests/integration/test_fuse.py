"""`unicache mount` (issue #5): a real node, a real FUSE mount, ordinary tools and Python."""
import errno
import hashlib
import os
import random
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import BIN, stop_process, write_random


def _fuse_usable():
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (Debian package fuse3)"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as e:
        return f"/dev/fuse is not usable here: {e}"
    return None


_REASON = _fuse_usable()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")

BLOCK = 256 * 1024


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/mounts") as f:
        return any(line.split()[1] == path for line in f)


def cache_hits(node):
    total = 0.0
    for line in node.metrics().splitlines():
        if line.startswith("unicache_cache_hits_total"):
            total += float(line.split()[-1])
    return total


def origin_bytes(node):
    total = 0.0
    for line in node.metrics().splitlines():
        if line.startswith("unicache_origin_bytes_total"):
            total += float(line.split()[-1])
    return total


class Mount:
    """One `unicache mount` child process."""

    def __init__(self, node, mnt, *extra, target="data"):
        self.mnt = str(mnt)
        os.makedirs(self.mnt, exist_ok=True)
        self.log_path = self.mnt + ".log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "mount", "--peers", f"127.0.0.1:{node.port}", target, self.mnt, *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not is_mounted(self.mnt):
            if self.proc.poll() is not None:
                raise RuntimeError(f"mount exited with {self.proc.returncode}: {self.output()}")
            if time.time() > deadline:
                self.cleanup()
                raise RuntimeError("mount did not appear: " + self.output())
            time.sleep(0.05)

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def unmount(self):
        """fusermount3 -u, then the process must exit 0."""
        subprocess.run(["fusermount3", "-u", self.mnt], check=True, timeout=30)
        rc = self.proc.wait(timeout=30)
        self.log.close()
        assert rc == 0, self.output()
        assert not is_mounted(self.mnt)

    def cleanup(self):
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-uz", self.mnt], timeout=30)
        stop_process(self.proc, timeout=10)
        if not self.log.closed:
            self.log.close()


@pytest.fixture
def mounts():
    started = []

    def factory(*args, **kw):
        m = Mount(*args, **kw)
        started.append(m)
        return m

    yield factory
    for m in started:
        m.cleanup()


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "origin"
    files = {
        "top.txt": b"hello fuse\n",
        "a/empty": b"",
        "a/one": b"x",
        "a/b/multi.bin": write_random(root / "a/b/multi.bin", 3 * BLOCK + 123, seed=3),
        "a/b/exact.bin": write_random(root / "a/b/exact.bin", 2 * BLOCK, seed=4),
        "big/f1.bin": write_random(root / "big/f1.bin", 3 * 1024 * 1024, seed=5),
        "big/f2.bin": write_random(root / "big/f2.bin", 5 * 1024 * 1024 + 7, seed=6),
        "deep/x/y/z/leaf.txt": b"leaf\n",
        "floats.f32": np.arange(100_000, dtype=np.float32).tobytes(),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            p.write_bytes(data)
    return root, files


@pytest.fixture
def node(make_node, dataset):
    return make_node(str(dataset[0]), extra=["--block-size", "256KiB"])


def walk(root):
    out = set()
    for d, dirs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in dirs:
            out.add(os.path.normpath(os.path.join(rel, n)) + "/")
        for n in names:
            out.add(os.path.normpath(os.path.join(rel, n)))
    return out


def test_read_only_tree(node, dataset, mounts, tmp_path):
    origin, files = dataset
    m = mounts(node, tmp_path / "mnt")
    mnt = m.mnt
    assert walk(mnt) == walk(origin)
    ls = subprocess.run(["ls", "-R", mnt], capture_output=True, check=True, text=True).stdout
    assert "multi.bin" in ls and "leaf.txt" in ls
    found = subprocess.run(["find", mnt, "-type", "f"], capture_output=True, check=True,
                           text=True).stdout.split()
    assert sorted(os.path.relpath(p, mnt) for p in found) == sorted(files)
    for rel, data in files.items():
        assert os.path.getsize(os.path.join(mnt, rel)) == len(data), rel
        assert subprocess.run(["cat", os.path.join(mnt, rel)], capture_output=True,
                              check=True).stdout == data, rel
        with open(os.path.join(mnt, rel), "rb") as f:
            assert f.read() == data, rel
    # md5sum and dd against the origin.
    names = sorted(files)
    sums = subprocess.run(["md5sum", *names], cwd=mnt, capture_output=True, check=True).stdout
    assert sums == subprocess.run(["md5sum", *names], cwd=origin, capture_output=True,
                                  check=True).stdout
    dd = subprocess.run(["dd", f"if={mnt}/big/f2.bin", "bs=1M", "status=none"],
                        capture_output=True, check=True).stdout
    assert dd == files["big/f2.bin"]
    dd = subprocess.run(["dd", f"if={mnt}/a/b/multi.bin", "bs=4096", "skip=70", "count=3",
                         "status=none"], capture_output=True, check=True).stdout
    assert dd == files["a/b/multi.bin"][70 * 4096:73 * 4096]
    # cp -r of the whole tree.
    shutil.rmtree(tmp_path / "copy", ignore_errors=True)
    subprocess.run(["cp", "-r", mnt, str(tmp_path / "copy")], check=True)
    for rel, data in files.items():
        assert (tmp_path / "copy" / rel).read_bytes() == data, rel
    # numpy
    ref = np.arange(100_000, dtype=np.float32)
    assert np.array_equal(np.fromfile(os.path.join(mnt, "floats.f32"), dtype=np.float32), ref)
    mm = np.memmap(os.path.join(mnt, "floats.f32"), dtype=np.float32, mode="r")
    assert np.array_equal(mm, ref)
    assert float(mm[99_999]) == 99_999.0
    del mm


def test_random_preads_are_byte_exact(node, dataset, mounts, tmp_path):
    _, files = dataset
    m = mounts(node, tmp_path / "mnt")
    rng = random.Random(5)
    for rel in ("big/f2.bin", "a/b/multi.bin"):
        data = files[rel]
        fd = os.open(os.path.join(m.mnt, rel), os.O_RDONLY)
        try:
            for _ in range(100):
                off = rng.randrange(0, len(data) + 10)
                n = rng.choice([1, 7, 4096, BLOCK, BLOCK + 1, 1 << 20, rng.randrange(1, 3 << 20)])
                assert os.pread(fd, n, off) == data[off:off + n], (rel, off, n)
        finally:
            os.close(fd)


def test_errors(node, dataset, mounts, tmp_path):
    m = mounts(node, tmp_path / "mnt")
    with pytest.raises(FileNotFoundError):
        open(os.path.join(m.mnt, "nope.bin"), "rb")
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(m.mnt, "a/nope/deeper"))
    for flags in (os.O_WRONLY | os.O_CREAT, os.O_RDWR):
        with pytest.raises(OSError) as e:
            os.open(os.path.join(m.mnt, "top.txt"), flags)
        assert e.value.errno == errno.EROFS
    with pytest.raises(OSError) as e:
        os.mkdir(os.path.join(m.mnt, "newdir"))
    assert e.value.errno == errno.EROFS
    with pytest.raises(OSError) as e:
        os.unlink(os.path.join(m.mnt, "top.txt"))
    assert e.value.errno == errno.EROFS
    m.unmount()


def test_prefix_mount(node, dataset, mounts, tmp_path):
    _, files = dataset
    m = mounts(node, tmp_path / "mnt", target="data/a/b")
    assert sorted(os.listdir(m.mnt)) == ["exact.bin", "multi.bin"]
    with open(os.path.join(m.mnt, "multi.bin"), "rb") as f:
        assert f.read() == files["a/b/multi.bin"]


def test_prefix_with_nothing_under_it_warns(node, dataset, mounts, tmp_path):
    m = mounts(node, tmp_path / "mnt", target="data/typo")
    assert os.listdir(m.mnt) == []
    assert "warning: no objects under data/typo" in m.output()


def test_mtime_is_one_per_version_and_tar_sees_no_change(node, dataset, mounts, tmp_path):
    """An object's mtime keeps its milliseconds after the metadata TTL passes, whether the mount
    learned it from a listing or from a stat; tar, reading while the TTL passes, sees no change."""
    origin, files = dataset
    mtime_ns = 1_700_000_000_396_000_000  # .396 s: milliseconds that whole seconds would lose
    for rel in ("big/f2.bin", "a/b/multi.bin"):
        os.utime(origin / rel, ns=(mtime_ns, mtime_ns))
    m = mounts(node, tmp_path / "mnt", "--metadata-ttl", "1s")
    big = os.path.join(m.mnt, "big", "f2.bin")
    os.listdir(os.path.join(m.mnt, "big"))  # attributes from the listing
    first = os.stat(big).st_mtime_ns
    assert first // 1_000_000 == mtime_ns // 1_000_000
    time.sleep(1.2)  # past the TTL: the next stat asks the node
    assert os.stat(big).st_mtime_ns == first
    assert os.stat(os.path.join(m.mnt, "a", "b", "multi.bin")).st_mtime_ns // 1_000_000 == \
        mtime_ns // 1_000_000
    # tar checks the file's mtime before and after reading it; the slow reader lets the TTL pass
    # while tar is blocked on the pipe.
    p = subprocess.run(f"tar cf - -C {m.mnt} big/f2.bin | (sleep 2; cat > /dev/null)", shell=True,
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and b"changed" not in p.stderr, p.stderr


def test_write_through_checkpoint_then_cache_hit(node, dataset, mounts, tmp_path):
    origin, _ = dataset
    m = mounts(node, tmp_path / "mnt", "--write-through")
    ckpt = np.random.default_rng(11).integers(0, 256, size=4 * 1024 * 1024 + 99,
                                              dtype=np.uint8).tobytes()
    os.makedirs(os.path.join(m.mnt, "ckpt"))
    with open(os.path.join(m.mnt, "ckpt", "step100.pt"), "wb") as f:
        for i in range(0, len(ckpt), 1 << 20):
            f.write(ckpt[i:i + (1 << 20)])
    # close() returned: the origin already has every byte.
    assert (origin / "ckpt" / "step100.pt").read_bytes() == ckpt
    with open(os.path.join(m.mnt, "ckpt", "step100.pt"), "rb") as f:
        assert f.read() == ckpt
    assert "step100.pt" in os.listdir(os.path.join(m.mnt, "ckpt"))
    with pytest.raises(OSError) as e:
        os.rename(os.path.join(m.mnt, "ckpt", "step100.pt"), os.path.join(m.mnt, "x.pt"))
    assert e.value.errno in (errno.ENOTSUP, errno.EOPNOTSUPP)
    m.unmount()

    hits, from_origin = cache_hits(node), origin_bytes(node)
    m2 = mounts(node, tmp_path / "mnt2")
    with open(os.path.join(m2.mnt, "ckpt", "step100.pt"), "rb") as f:
        assert f.read() == ckpt
    assert cache_hits(node) > hits
    assert origin_bytes(node) == from_origin
    m2.unmount()


@pytest.mark.parametrize("how", ["killed", "frozen"])
def test_dead_cluster_gives_eio_not_a_hang(node, dataset, mounts, tmp_path, how):
    m = mounts(node, tmp_path / "mnt", "--timeout", "3s", "--metadata-ttl", "1s")
    assert os.path.getsize(os.path.join(m.mnt, "big/f1.bin")) == 3 * 1024 * 1024
    if how == "killed":
        node.kill()  # connections are refused at once
    else:
        node.proc.send_signal(signal.SIGSTOP)  # connections hang: only the timeout ends them
    try:
        time.sleep(1.1)  # past the metadata TTL
        t = time.time()
        # In a child process, so a hang fails the test instead of blocking it.
        p = subprocess.run(["/usr/bin/python3", "-c",
                            f"open({os.path.join(m.mnt, 'big/f1.bin')!r}, 'rb').read()"],
                           capture_output=True, text=True, timeout=120)
        took = time.time() - t
        print(f"{how} node: EIO after {took:.1f}s with --timeout 3s")
        assert p.returncode != 0
        assert "Errno 5" in p.stderr, p.stderr  # EIO
        assert took < 60, took
        m.unmount()
    finally:
        if how == "frozen":
            node.proc.send_signal(signal.SIGCONT)


def test_sigterm_and_sigint_unmount(node, mounts, tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        m = mounts(node, tmp_path / f"mnt-{sig}")
        assert os.listdir(m.mnt)
        m.proc.send_signal(sig)
        assert m.proc.wait(timeout=30) == 0, m.output()
        assert not is_mounted(m.mnt)


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)


def test_bad_arguments(node, tmp_path):
    peers = f"127.0.0.1:{node.port}"
    p = run("mount", "--peers", peers, "data", str(tmp_path / "missing"))
    assert p.returncode != 0 and "missing" in p.stderr
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    p = run("mount", "--peers", peers, "data", str(full))
    assert p.returncode != 0 and "not empty" in p.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    p = run("mount", "--peers", peers, "nosuchorigin", str(empty))
    assert p.returncode != 0
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "nosuchorigin" in p.stderr
    assert not is_mounted(str(empty))


def test_a_stopped_origin_keeps_cached_files_and_listings(tmp_path, mounts, monkeypatch):
    """Issue #14: an S3 origin (s3rver) stopped under a mount. Past both metadata TTLs the
    listings the mount had and the files it read stay as they were (stale-if-error in the node
    and in the mount); a file never read is EIO, not a hang."""
    import cloud_servers as cs
    from conftest import NodeProcess
    if cs.missing_binaries():
        pytest.skip(cs.missing_binaries())
    s3 = cs.start_s3rver(str(tmp_path))
    node = None
    try:
        client = cs.s3_client(s3.port)
        client.create_bucket(Bucket="dataset")
        rng = random.Random(14)
        files = {"train/a.bin": rng.randbytes(600 << 10), "train/b.bin": rng.randbytes(70_000),
                 "val/c.bin": rng.randbytes(3000), "never.bin": rng.randbytes(1000)}
        for key, data in files.items():
            client.put_object(Bucket="dataset", Key=key, Body=data)
        for k, v in cs.s3_env().items():
            monkeypatch.setenv(k, v)
        node = NodeProcess(["--origin", f"s3={cs.s3_origin_uri('dataset', s3.port)}"],
                           str(tmp_path / "cache"),
                           ["--block-size", "256KiB", "--metadata-ttl", "1s"]).start()
        m = mounts(node, tmp_path / "mnt", "--metadata-ttl", "1s", "--timeout", "10s", target="s3")
        before = walk(m.mnt)
        assert before == {"train/", "val/", "train/a.bin", "train/b.bin", "val/c.bin", "never.bin"}
        for key in ("train/a.bin", "train/b.bin", "val/c.bin"):
            with open(os.path.join(m.mnt, key), "rb") as f:
                assert f.read() == files[key]

        s3.stop()
        time.sleep(2.5)  # past the node's and the mount's metadata TTL
        assert walk(m.mnt) == before
        for key in ("train/a.bin", "train/b.bin", "val/c.bin"):
            with open(os.path.join(m.mnt, key), "rb") as f:
                assert f.read() == files[key], key
        with pytest.raises(OSError) as e:
            with open(os.path.join(m.mnt, "never.bin"), "rb") as f:
                f.read()
        assert e.value.errno == errno.EIO
        m.unmount()
    finally:
        s3.stop()
        if node:
            node.stop()

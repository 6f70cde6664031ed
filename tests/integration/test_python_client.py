"""The Python module (python/unicache, ctypes over libunicache.so) against real nodes."""
import io
import os

import pytest

from conftest import python_client_module, write_random

MiB = 1 << 20


@pytest.fixture
def cluster_and_data(tmp_path, make_cluster):
    origin = tmp_path / "origin"
    data = write_random(str(origin / "train" / "shard0.bin"), 5 * MiB + 77, seed=11)
    write_random(str(origin / "train" / "sub" / "a.bin"), 10, seed=12)
    cluster = make_cluster(str(origin), n=2, extra=["--block-size", "1MiB"])
    return cluster, data


def test_stat_read_and_numpy(cluster_and_data):
    import numpy as np
    cluster, data = cluster_and_data
    uc = python_client_module()
    with uc.Client(cluster.peers) as c:
        st = c.stat("data", "train/shard0.bin")
        assert st.size == len(data) and st.version
        buf = c.read_all("data", "train/shard0.bin")
        arr = np.frombuffer(buf, dtype=np.uint8)
        assert np.array_equal(arr, np.frombuffer(data, dtype=np.uint8))
        assert c.read("data", "train/shard0.bin", offset=MiB - 3, length=10) == data[MiB - 3:MiB + 7]
        assert c.read("data", "train/shard0.bin", offset=len(data) - 5, length=100) == data[-5:]
        out = np.zeros(3 * MiB, dtype=np.uint8)
        n = c.readinto("data", "train/shard0.bin", out, offset=123, version=st.version)
        assert n == 3 * MiB and out.tobytes() == data[123:123 + 3 * MiB]
        with pytest.raises(uc.UnicacheError) as e:
            c.read("data", "train/shard0.bin", length=10, version="not-the-version")
        assert e.value.code == "precondition_failed"
        with pytest.raises(uc.UnicacheError) as e:
            c.stat("data", "train/missing.bin")
        assert e.value.code == "not_found"
        assert str(e.value).count("not_found") == 1, str(e.value)  # the code is said once


def test_open_is_a_seekable_file(cluster_and_data):
    cluster, data = cluster_and_data
    uc = python_client_module()
    with uc.Client(cluster.peers) as c:
        with c.open("data", "train/shard0.bin") as f:
            head = f.read(1000)
            rest = f.read()
            assert head + rest == data
            f.seek(2 * MiB + 5)
            assert f.read(10) == data[2 * MiB + 5:2 * MiB + 15]
            f.seek(-4, io.SEEK_END)
            assert f.read() == data[-4:]
            raw = f.raw
            raw.seek(0)
            chunk = bytearray(64 * 1024)
            got = b""
            while True:
                n = raw.readinto(chunk)
                if n == 0:
                    break
                got += bytes(chunk[:n])
            assert got == data


def test_write_list_and_errors(cluster_and_data):
    cluster, _ = cluster_and_data
    uc = python_client_module()
    with uc.Client(cluster.peers) as c:
        payload = os.urandom(2 * MiB + 3)
        st = c.write("data", "ckpt/step1.bin", payload)
        assert st.size == len(payload)
        assert c.read_all("data", "ckpt/step1.bin") == payload
        paths = [e["path"] for e in c.list("data", "train/")]
        assert paths == ["train/shard0.bin", "train/sub/a.bin"]
        top = list(c.list("data", "train/", recursive=False))
        assert {e["path"] for e in top} == {"train/shard0.bin", "train/sub/"}
        assert [e["is_prefix"] for e in top if e["path"] == "train/sub/"] == [True]
        # One version, one mtime: stat() states the milliseconds a listing does.
        listed = {e["path"]: e["mtime_ms"] for e in c.list("data", "train/")}
        assert c.stat("data", "train/shard0.bin").mtime_ms == listed["train/shard0.bin"]
    with pytest.raises(uc.UnicacheError) as e:
        uc.Client("127.0.0.1:1")
    assert e.value.code == "unavailable"


def test_read_all_returns_its_buffer_without_copies(cluster_and_data):
    """read_all and read hand back the buffer the bytes were read into: the peak of Python
    memory stays at one object's size (two copies more before: a slice and a bytes)."""
    import tracemalloc
    cluster, data = cluster_and_data
    uc = python_client_module()
    with uc.Client(cluster.peers) as c:
        assert c.read_all("data", "train/shard0.bin") == data  # warm the cache and the stat
        tracemalloc.start()
        try:
            got = c.read_all("data", "train/shard0.bin")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert got == data and isinstance(got, bytearray)
        assert peak < 1.2 * len(data), f"peak {peak} for {len(data)} bytes"
        tail = c.read("data", "train/shard0.bin", offset=len(data) - 5, length=100)
        assert tail == data[-5:]

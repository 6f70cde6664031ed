"""Clients used once and then used by forked children (the PyTorch DataLoader pattern: the Dataset
holds the client, workers are forked): every child gets exactly the bytes it asked for. Connections
made in the parent are never read by a child, and the parent goes on reading while they run."""
import hashlib
import multiprocessing
import os
import signal
import threading

import pytest

from conftest import python_client_module, write_random

KiB = 1 << 10
OBJECTS = 100
FORKS_PER_ROUND = 20
ROUNDS = 3  # 60 forked readers in all


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    root = tmp_path_factory.mktemp("origin")
    digests = {}
    for i in range(OBJECTS):
        # Sizes differ object to object and straddle blocks, so another object's answer never
        # passes for this one's by its length alone.
        name = f"shard-{i:05d}.bin"
        data = write_random(str(root / name), 64 * KiB + 997 * i, seed=100 + i)
        digests[name] = hashlib.sha256(data).hexdigest()
    return root, digests


@pytest.fixture
def cluster(make_cluster, origin):
    return make_cluster(str(origin[0]), n=2, extra=["--block-size", "64KiB"])


def child_reads(client, names, digests):
    """Reads `names` every way the module offers; returns the list of mismatches."""
    bad = []
    for name in names:
        for how, read in (("read_all", lambda: client.read_all("data", name)),
                          ("open", lambda: client.open("data", name).read()),
                          ("read", lambda: client.read("data", name, offset=1000))):
            got = read()
            want = digests[name]
            if how == "read":
                whole = client.read_all("data", name)
                ok = hashlib.sha256(whole).hexdigest() == want and got == whole[1000:]
            else:
                ok = hashlib.sha256(got).hexdigest() == want
            if not ok:
                bad.append(f"{how} {name}: {len(got)} bytes, not the object's")
    return bad


def test_forked_readers_get_their_own_bytes(cluster, origin):
    _, digests = origin
    names = sorted(digests)
    uc = python_client_module()
    client = uc.Client(cluster.peers)
    # Use the client first: keep-alive connections, cached stats, a reader with prefetches.
    assert hashlib.sha256(client.read_all("data", names[0])).hexdigest() == digests[names[0]]
    parent_reader = client.open("data", names[1])
    parent_reader.read(10 * KiB)

    stop = threading.Event()
    parent_errors = []

    def parent_keeps_reading():
        i = 0
        while not stop.is_set():
            name = names[i % len(names)]
            if hashlib.sha256(client.read_all("data", name)).hexdigest() != digests[name]:
                parent_errors.append(name)
            i += 1

    reader = threading.Thread(target=parent_keeps_reading)
    reader.start()
    failures = []
    try:
        for round_no in range(ROUNDS):
            pids = []
            for k in range(FORKS_PER_ROUND):
                mine = names[(round_no * 7 + k * 5) % OBJECTS:][:5] + names[k::FORKS_PER_ROUND][:2]
                pid = os.fork()
                if pid == 0:
                    signal.alarm(60)  # a child that hangs (an inherited lock) fails, not the run
                    code = 1
                    try:
                        bad = child_reads(client, mine, digests)
                        rest = parent_reader.read()  # a reader opened in the parent still works
                        if len(rest) + 10 * KiB != 64 * KiB + 997:
                            bad.append("the parent's reader lost its place")
                        for line in bad:
                            os.write(2, (line + "\n").encode())
                        code = 0 if not bad else 1
                    except BaseException as e:  # noqa: BLE001 - report anything, then exit
                        os.write(2, f"child error: {e!r}\n".encode())
                    finally:
                        os._exit(code)
                pids.append(pid)
            for pid in pids:
                _, status = os.waitpid(pid, 0)
                if os.waitstatus_to_exitcode(status) != 0:
                    failures.append((round_no, pid, status))
    finally:
        stop.set()
        reader.join()
    assert not failures, f"{len(failures)} forked readers got wrong bytes or errors: {failures[:5]}"
    assert not parent_errors, parent_errors[:5]
    client.close()


_shared = {}


def _pool_read(item):
    name, digest = item
    return hashlib.sha256(_shared["client"].read_all("data", name)).hexdigest() == digest


def test_multiprocessing_pool_of_forked_workers(cluster, origin):
    _, digests = origin
    uc = python_client_module()
    _shared["client"] = uc.Client(cluster.peers)
    first = sorted(digests)[0]
    assert _pool_read((first, digests[first]))  # used before the fork
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(8) as pool:
        results = pool.map(_pool_read, sorted(digests.items()), chunksize=4)
    assert all(results), [n for n, ok in zip(sorted(digests), results) if not ok][:5]
    _shared.pop("client").close()


def test_kv_clients_after_fork(make_kv_cluster):
    """The Python KV client, used in the parent, then by forked children: each gets its own key."""
    python_client_module()  # puts python/ on sys.path
    from unicache.kv import KvClient
    nodes = make_kv_cluster(["kvns=64MiB"])
    kv = KvClient(",".join(f"127.0.0.1:{n.port}" for n in nodes))
    values = {bytes([i]) * 16: os.urandom(4096 + i) for i in range(40)}
    for k, v in values.items():
        kv.put("kvns", k, v)
    assert kv.get("kvns", next(iter(values))) == next(iter(values.values()))
    pids = []
    for i, (k, v) in enumerate(values.items()):
        pid = os.fork()
        if pid == 0:
            signal.alarm(60)
            ok = all(kv.get("kvns", key) == values[key] for key in list(values)[i:] + [k])
            os._exit(0 if ok else 1)
        pids.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
    assert codes == [0] * len(pids)
    assert kv.get("kvns", next(iter(values))) == next(iter(values.values()))

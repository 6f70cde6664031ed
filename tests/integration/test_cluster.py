"""Cluster tests (issue #4): 3 real nodes, the direct read path (CLI, Python module), single
origin fetch across the cluster, failover on SIGKILL, etcd membership, replicas, status/warm."""
import os
import subprocess
import threading
import time

from conftest import (BIN, http_get, metric, python_client_module, sha256, start_etcd, wait_for,
                      write_random)

MiB = 1 << 20
BLOCK = ["--block-size", "1MiB"]


def make_dataset(root, count=24):
    """Writes `count` files of mixed sizes (tiny to multi-block) and returns {path: bytes}."""
    sizes = [1, 100, 4096, 65536, 1 * MiB - 1, 1 * MiB, 1 * MiB + 1, 3 * MiB + 12345]
    files = {}
    for i in range(count):
        path = f"ds/part{i % 3}/file{i:02d}.bin"
        files[path] = write_random(os.path.join(root, path), sizes[i % len(sizes)] + i, seed=i)
    return files


def origin_total(cluster):
    return cluster.sum_metric('unicache_origin_bytes_total{origin="data"}')


def cli_get(peers_or_discovery, path, out, flag="--peers"):
    r = subprocess.run([BIN, "get", flag, peers_or_discovery, f"data/{path}", "-o", str(out)],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    return open(out, "rb").read()


def test_static_cluster_reads_every_file_everywhere_with_one_origin_fetch(tmp_path, make_cluster):
    origin = tmp_path / "origin"
    files = make_dataset(str(origin))
    cluster = make_cluster(str(origin), extra=BLOCK)
    for i in range(3):
        assert len(cluster.members(i)["members"]) == 3
    for node in cluster.nodes:
        for path, data in files.items():
            status, _, body = http_get(f"{node.url}/v1/objects/data/{path}")
            assert status == 200 and body == data, (node.url, path)
    for path, data in list(files.items())[::4]:
        assert cli_get(cluster.peers, path, tmp_path / "out.bin") == data
    uc = python_client_module()
    with uc.Client(cluster.peers) as c:
        for path, data in files.items():
            assert c.read_all("data", path) == data
    # Every block came from the origin exactly once, whatever node was asked.
    assert origin_total(cluster) == sum(len(d) for d in files.values())
    assert cluster.sum_metric('unicache_peer_bytes_total{direction="out"}') > 0


def test_reads_survive_sigkill_of_a_node_and_it_rejoins(tmp_path, make_cluster):
    origin = tmp_path / "origin"
    data = write_random(str(origin / "big.bin"), 64 * MiB + 123, seed=7)
    want = sha256(data)
    del data
    cluster = make_cluster(str(origin), extra=BLOCK)
    uc = python_client_module()
    errors, done = [], []

    def reader():
        try:
            with uc.Client(cluster.peers) as c:
                for _ in range(2):
                    got = sha256(c.read_all("data", "big.bin"))
                    if got != want:
                        errors.append("wrong bytes")
                    done.append(1)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.4)
    cluster.nodes[1].kill()
    cli_out = cli_get(cluster.peers, "big.bin", tmp_path / "cli.bin")
    for t in threads:
        t.join(timeout=150)
    assert not errors, errors
    assert len(done) == 6
    assert sha256(cli_out) == want

    node = cluster.restart(1)
    assert len(cluster.members(1)["members"]) == 3
    # It serves again, and once the peers' backoff for it has elapsed (PeerHealth, up to 30 s)
    # they route its blocks to it again: its outgoing peer bytes grow.
    status, _, body = http_get(node.url + "/v1/objects/data/big.bin", headers={"Range": "bytes=0-99"})
    assert status == 206 and len(body) == 100
    before = metric(node.metrics(), 'unicache_peer_bytes_total{direction="out"}')
    deadline, i = time.time() + 45, 0
    while metric(node.metrics(), 'unicache_peer_bytes_total{direction="out"}') <= before:
        assert time.time() < deadline, "no peer routed a block to the restarted node"
        i += 1
        data = write_random(str(origin / f"after{i}.bin"), 4 * MiB, seed=100 + i)
        status, _, body = http_get(cluster.nodes[0].url + f"/v1/objects/data/after{i}.bin")
        assert status == 200 and body == data
        time.sleep(0.5)


def test_etcd_membership_kill_and_rejoin(tmp_path, make_cluster):
    etcd, endpoint = start_etcd(tmp_path)
    try:
        origin = tmp_path / "origin"
        files = make_dataset(str(origin), count=6)
        cluster = make_cluster(str(origin), extra=[*BLOCK, "--etcd-ttl", "2s", "--member-grace", "1s"],
                               discovery=f"etcd:{endpoint}")
        ids = lambda i: sorted(m["address"] for m in cluster.members(i)["members"])  # noqa: E731
        assert wait_for(lambda: all(len(ids(i)) == 3 for i in range(3)))
        killed = f"127.0.0.1:{cluster.nodes[2].port}"
        cluster.nodes[2].kill()
        assert wait_for(lambda: all(killed not in ids(i) for i in range(2)), timeout=12)
        uc = python_client_module()
        with uc.Client(f"etcd:{endpoint}") as c:
            for path, data in files.items():
                assert c.read_all("data", path) == data
        path, data = next(iter(files.items()))
        assert cli_get(f"etcd:{endpoint}", path, tmp_path / "o.bin", "--discovery") == data
        cluster.restart(2)
        assert wait_for(lambda: all(len(ids(i)) == 3 for i in range(3)))
    finally:
        etcd.kill()
        etcd.wait()


def test_replicated_prefix_spreads_reads_with_one_origin_fetch(tmp_path, make_cluster):
    origin = tmp_path / "origin"
    data = write_random(str(origin / "ckpt" / "model.bin"), 24 * MiB, seed=3)
    cluster = make_cluster(str(origin), extra=[*BLOCK, "--replicas-for", "data/ckpt/=2"])
    assert cluster.members(0)["replica_rules"] == ["data/ckpt/=2"]
    uc = python_client_module()
    for _ in range(3):
        with uc.Client(cluster.peers) as c:  # each client has its own id
            assert c.read_all("data", "ckpt/model.bin") == data
    assert origin_total(cluster) == len(data)
    # Each block lives on 2 nodes: the cache holds 2x the file, and secondaries copied from
    # primaries (peer traffic) instead of reading the origin.
    hits = [metric(n.metrics(), 'unicache_cache_hits_total{tier="ram"}') for n in cluster.nodes]
    assert sum(1 for h in hits if h > 0) >= 2, hits
    # How many blocks a secondary copies depends on which replica each client picked and on
    # whether it timed out under load (then the client reads the other replica): some must.
    assert cluster.sum_metric('unicache_peer_bytes_total{direction="out"}') >= MiB


def test_status_and_warm_commands(tmp_path, make_cluster):
    origin = tmp_path / "origin"
    files = make_dataset(str(origin), count=9)
    cluster = make_cluster(str(origin), extra=BLOCK)
    r = subprocess.run([BIN, "warm", "--peers", cluster.peers, "data/ds/"], capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    total = sum(len(d) for d in files.values())
    assert "warmed 9 objects" in r.stdout.decode() and f"({total} bytes)" in r.stdout.decode()
    assert origin_total(cluster) == total
    uc = python_client_module()
    with uc.Client(cluster.peers) as c:
        for path, data in files.items():
            assert c.read_all("data", path) == data
    assert origin_total(cluster) == total  # everything was already cached

    r = subprocess.run([BIN, "status", "--peers", cluster.peers], capture_output=True, timeout=60)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert out.splitlines()[0].split()[:5] == ["ID", "ADDRESS", "WEIGHT", "ZONE", "UP"]
    rows = [line.split() for line in out.splitlines() if line.startswith("127.0.0.1:")]
    assert [r[4] for r in rows] == ["up"] * 3, out
    assert "3 of 3 members up" in out
    cluster.nodes[2].kill()
    r = subprocess.run([BIN, "status", "--peers", cluster.peers], capture_output=True, timeout=60)
    assert r.returncode == 0 and "down" in r.stdout.decode()

    r = subprocess.run([BIN, "warm", "--peers", cluster.peers, "nosuch/x"], capture_output=True,
                       timeout=60)
    assert r.returncode != 0 and b"nosuch" in r.stderr
    for n in cluster.nodes:
        n.stop()
    r = subprocess.run([BIN, "status", "--peers", cluster.peers], capture_output=True, timeout=60)
    assert r.returncode != 0 and b"unicache status:" in r.stderr

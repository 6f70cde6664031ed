"""A fleet on one machine (#15): 32 `unicache serve` processes and a real etcd converge to one
view, lose 4 members and converge again, read byte-exact with each block fetched from the origin
once, and cost etcd the same per member, idle, at 32 members as at 8 (the watch, not polling).
Budget: about 90 s on 2 cores."""
import json
import time

from conftest import (BIN, NodeProcess, http_get, metric, origin_bytes, start_etcd, stop_process,
                      wait_for, write_random)

MiB = 1 << 20
FLEET = 32
SMALL = 8
# Small nodes: 32 of them share 2 cores. Peer threads stay at 16: a reader sends at most half
# of them to one owner at once (beyond that a block is read from the origin, costing origin bytes).
NODE_FLAGS = ["--block-size", "1MiB", "--ram", "64MiB", "--io-threads", "1", "--origin-threads", "4",
              "--ssd-threads", "2", "--peer-threads", "16", "--kv-threads", "2",
              "--etcd-ttl", "4s", "--member-grace", "2s"]
IDLE_WINDOW = 12  # seconds of idle etcd traffic measured at each size


def members(node):
    return json.loads(http_get(node.url + "/v1/members", timeout=5)[2])["members"]


def view_of(node):
    """The member ids and slots `node` places by, or None when it does not answer."""
    try:
        return sorted((m["id"], tuple(m.get("slots", []))) for m in members(node))
    except OSError:
        return None


def converged(nodes, size):
    views = [view_of(n) for n in nodes]
    return views[0] is not None and len(views[0]) == size and all(v == views[0] for v in views)


def etcd_sent_bytes(endpoint):
    return metric(http_get(endpoint + "/metrics", timeout=5)[2].decode(),
                  "etcd_network_client_grpc_sent_bytes_total")


def idle_rate_per_member(endpoint, count):
    before = etcd_sent_bytes(endpoint)
    time.sleep(IDLE_WINDOW)
    return (etcd_sent_bytes(endpoint) - before) / IDLE_WINDOW / count


def start_nodes(tmp_path, origin, endpoint, first, count):
    """Starts nodes first..first+count-1 at once and waits until each answers /healthz."""
    nodes = [NodeProcess(["--origin", f"data={origin}"], str(tmp_path / f"cache{i}"),
                         ["--discovery", f"etcd:{endpoint}", *NODE_FLAGS]).launch()
             for i in range(first, first + count)]
    for n in nodes:
        n.wait_ready(timeout=30)
    return nodes


def fleet_origin_bytes(nodes):
    return sum(origin_bytes(n) for n in nodes)


def read_through(nodes, path, data):
    for n in nodes:
        status, _, body = http_get(f"{n.url}/v1/objects/data/{path}", timeout=60)
        assert status == 200 and body == data, f"{path} through {n.url}"


def test_fleet_of_32_converges_survives_kills_and_keeps_etcd_quiet(tmp_path):
    assert BIN
    etcd, endpoint = start_etcd(tmp_path)
    origin = tmp_path / "origin"
    origin.mkdir()
    nodes = []
    try:
        nodes = start_nodes(tmp_path, origin, endpoint, 0, SMALL)
        assert wait_for(lambda: converged(nodes, SMALL), timeout=20)
        rate_small = idle_rate_per_member(endpoint, SMALL)

        nodes += start_nodes(tmp_path, origin, endpoint, SMALL, FLEET - SMALL)
        assert wait_for(lambda: converged(nodes, FLEET), timeout=30), [len(view_of(n) or [])
                                                                       for n in nodes]
        slots = [s for _, held in view_of(nodes[0]) for s in held]
        assert len(slots) == len(set(slots)) == 4 * FLEET  # distinct claims, weight 1 = 4 slots
        rate_fleet = idle_rate_per_member(endpoint, FLEET)
        print(f"etcd sent per member, idle: {rate_small:.0f} B/s at {SMALL} members, "
              f"{rate_fleet:.0f} B/s at {FLEET} ({rate_fleet / rate_small:.2f}x)")
        assert rate_fleet <= 1.5 * rate_small
        assert rate_fleet < 2048

        # One more member: every other member lists it within 2 s of its answering.
        version = json.loads(http_get(nodes[0].url + "/v1/members")[2])["version"]
        newcomer = start_nodes(tmp_path, origin, endpoint, FLEET, 1)[0]
        joined = time.time()
        assert wait_for(lambda: all(newcomer.url.split("//")[1] in
                                    [m["address"] for m in members(n)] for n in nodes), timeout=5)
        print(f"a join reached all {FLEET} members in {time.time() - joined:.2f} s")
        assert time.time() - joined < 2
        nodes.append(newcomer)

        # A follower of the view asks for the changes since the version it holds.
        full = http_get(nodes[0].url + "/v1/members")[2]
        body = http_get(nodes[0].url + f"/v1/members?since={version}")[2]
        delta = json.loads(body)
        assert delta["since"] == version and delta["removed"] == []
        assert [m["address"] for m in delta["changed"]] == [newcomer.url.split("//")[1]]
        print(f"/v1/members at {FLEET + 1} members: {len(full)} bytes whole, {len(body)} bytes "
              f"as the changes since the view before the join")
        assert len(body) * 10 < len(full)

        # A file read through several members: each block comes from the origin once.
        a = write_random(str(origin / "a.bin"), 48 * MiB, seed=15)
        read_through(nodes[::7], "a.bin", a)
        assert fleet_origin_bytes(nodes) == len(a)

        # 4 members die; the rest converge once their leases and grace periods end, and reads
        # stay byte-exact throughout.
        for n in nodes[3:7]:
            stop_process(n.proc, sig=9)
        alive = nodes[:3] + nodes[7:]
        read_through(alive[::5], "a.bin", a)
        assert wait_for(lambda: converged(alive, len(alive)), timeout=20)
        before = fleet_origin_bytes(alive)
        b = write_random(str(origin / "b.bin"), 48 * MiB, seed=16)
        read_through(alive[::6], "b.bin", b)
        assert fleet_origin_bytes(alive) - before == len(b)
    finally:
        for n in nodes:
            n.stop()
        stop_process(etcd)

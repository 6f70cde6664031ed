"""DNS discovery against a real DNS server: dnsmasq on loopback answers a headless-service-like
name with one address per node; members are added and removed by changing its records.
Budget: about 30 s."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import NodeProcess, free_port, http_get, seeded_bytes, stop_process, wait_for

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
NAME = "unicache.test"


class Dnsmasq:
    """dnsmasq answering NAME from a hosts file on 127.0.0.1:PORT; set() rewrites the records."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.hosts = tmp_path / "hosts"
        self.hosts.write_text("")
        self.log = open(tmp_path / "dnsmasq.log", "ab")
        self.proc = subprocess.Popen(
            [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
             "--listen-address=127.0.0.1", f"--port={self.port}", f"--addn-hosts={self.hosts}",
             "--user=root", f"--pid-file={tmp_path / 'dnsmasq.pid'}", "--log-facility=-"],
            stdout=self.log, stderr=subprocess.STDOUT)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise RuntimeError("dnsmasq exited: " + open(tmp_path / "dnsmasq.log").read())

    def set(self, ips):
        self.hosts.write_text("".join(f"{ip} {NAME}\n" for ip in ips))
        self.proc.send_signal(signal.SIGHUP)  # re-reads --addn-hosts

    def stop(self):
        stop_process(self.proc, timeout=5)
        self.log.close()


def member_ids(node):
    return sorted(m["id"] for m in json.loads(http_get(node.url + "/v1/members", timeout=5)[2])["members"])


@pytest.mark.skipif(not os.access(DNSMASQ, os.X_OK), reason="dnsmasq is not installed (dnsmasq-base)")
def test_members_follow_the_dns_records(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    files = {f"f{i}.bin": seeded_bytes(200 + i, (1 << 20) + 777 * i) for i in range(6)}
    for name, content in files.items():
        (data / name).write_bytes(content)
    dns = Dnsmasq(tmp_path)
    port = free_port()
    ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    discovery = ["--discovery", f"dns:{NAME}:{port}@127.0.0.1:{dns.port}", "--member-grace", "1s",
                 "--block-size", "256KiB"]

    def node(ip):
        return NodeProcess(["--origin", f"data={data}"], str(tmp_path / f"cache-{ip}"), discovery,
                           port, host=ip)

    nodes = []
    try:
        dns.set(ips[:2])
        nodes = [node(ip).start() for ip in ips[:2]]
        both = sorted(f"{ip}:{port}" for ip in ips[:2])
        assert all(member_ids(n) == both for n in nodes)
        for name, content in files.items():
            assert http_get(f"{nodes[0].url}/v1/objects/data/{name}")[2] == content

        # A member added: its record appears, every node's view follows (re-resolved every 5 s).
        nodes.append(node(ips[2]).start())
        dns.set(ips)
        every = sorted(f"{ip}:{port}" for ip in ips)
        assert wait_for(lambda: all(member_ids(n) == every for n in nodes), timeout=20), \
            [member_ids(n) for n in nodes]

        # A member removed from DNS (its pod no longer ready): dropped once the grace ends.
        dns.set([ips[0], ips[2]])
        rest = sorted(f"{ip}:{port}" for ip in (ips[0], ips[2]))
        assert wait_for(lambda: member_ids(nodes[0]) == rest and member_ids(nodes[2]) == rest,
                        timeout=20), [member_ids(n) for n in nodes]
        for name, content in files.items():
            assert http_get(f"{nodes[2].url}/v1/objects/data/{name}")[2] == content
    finally:
        for n in nodes:
            n.stop()
        dns.stop()

"""The `unicache` command line: help, get, ls, error reporting, serve flags, config file, env."""
import os
import re
import subprocess
import time

import pytest
import requests

from conftest import BIN, free_port, write_random

SUBCOMMANDS = ["serve", "get", "ls", "demo"]


def run(*args, env=None, timeout=60, **kw):
    return subprocess.run([BIN, *args], capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kw)


def reason_lines(stderr):
    """The non-empty stderr lines; a failure prints one reason line (plus an optional hint)."""
    # Timestamped log lines (a node that got as far as starting) are not part of the reason.
    return [l for l in stderr.decode().splitlines() if l.strip() and not re.match(r"\d{4}-\d\d-\d\dT", l)]


def assert_fails_with_reason(p, *words):
    assert p.returncode != 0, p
    lines = reason_lines(p.stderr)
    assert lines, "no reason on stderr"
    assert lines[0].startswith("unicache"), lines
    assert all(l.startswith("hint:") for l in lines[1:]), lines  # one reason line, hints after
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines)


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "origin"
    files = {
        "top.bin": write_random(root / "top.bin", 300_000, seed=1),
        "train/s0.bin": write_random(root / "train" / "s0.bin", 1234, seed=2),
        "train/s1.bin": write_random(root / "train" / "s1.bin", 0, seed=3),
        "train/deep/s2.bin": write_random(root / "train" / "deep" / "s2.bin", 5, seed=4),
    }
    return root, files


@pytest.fixture
def node(make_node, dataset):
    return make_node(str(dataset[0]), extra=["--block-size", "64KiB"])


def test_help():
    p = run("--help")
    assert p.returncode == 0 and b"Usage" in p.stdout
    for sub in SUBCOMMANDS:
        assert sub.encode() in p.stdout, sub
        q = run(sub, "--help")
        assert q.returncode == 0, (sub, q.stderr)
        assert b"Usage" in q.stdout and b"--help" in q.stdout, sub
    assert b"--cache-dir" in run("serve", "--help").stdout
    assert b"--config" in run("serve", "--help").stdout


def test_no_or_unknown_subcommand():
    assert_fails_with_reason(run())
    assert_fails_with_reason(run("frobnicate"))
    assert_fails_with_reason(run("get", "--no-such-flag", "data/x"))


def test_get_to_file_and_stdout(node, dataset, tmp_path):
    _, files = dataset
    peers = f"127.0.0.1:{node.port}"
    for name, data in files.items():
        out = tmp_path / ("out-" + name.replace("/", "_"))
        p = run("get", "--peers", peers, f"data/{name}", "-o", str(out))
        assert p.returncode == 0, p.stderr
        assert out.read_bytes() == data, name
        assert not os.path.exists(str(out) + ".unicache-part")
        p = run("get", "--peers", peers, f"data/{name}")
        assert p.returncode == 0, p.stderr
        assert p.stdout == data, name
    # $UNICACHE_PEERS picks the node when --peers is absent.
    p = run("get", "data/top.bin", env={"UNICACHE_PEERS": peers})
    assert p.returncode == 0 and p.stdout == files["top.bin"]


def test_ls(node, dataset):
    _, files = dataset
    peers = f"127.0.0.1:{node.port}"
    p = run("ls", "--peers", peers, "data")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().split() == ["train/", "top.bin"] or sorted(p.stdout.decode().split()) == ["top.bin", "train/"]
    p = run("ls", "--peers", peers, "data/train/")
    assert p.returncode == 0
    assert sorted(p.stdout.decode().split()) == ["train/deep/", "train/s0.bin", "train/s1.bin"]
    p = run("ls", "--peers", peers, "-r", "-l", "data")
    assert p.returncode == 0, p.stderr
    rows = [line.split() for line in p.stdout.decode().splitlines()]
    assert {r[1]: int(r[0]) for r in rows} == {n: len(d) for n, d in files.items()}
    p = run("ls", "--peers", peers, "-r", "data/train/d")
    assert p.stdout.decode().split() == ["train/deep/s2.bin"]


def test_get_missing_object(node):
    peers = f"127.0.0.1:{node.port}"
    for target in ("data/no-such-file.bin", "nope/x.bin"):
        p = run("get", "--peers", peers, target)
        assert_fails_with_reason(p)
        assert len(reason_lines(p.stderr)) == 1, p.stderr
        assert p.stdout == b""
    out = node.cache_dir + "-missing.out"
    p = run("get", "--peers", peers, "data/no-such-file.bin", "-o", out)
    assert p.returncode != 0 and not os.path.exists(out) and not os.path.exists(out + ".unicache-part")
    assert_fails_with_reason(run("get", "--peers", peers, "data/../etc/passwd"))
    assert_fails_with_reason(run("get", "--peers", peers, "no-slash"))
    assert_fails_with_reason(run("ls", "--peers", peers, "nope"), "nope")


def test_errors_say_what_is_wrong(node, dataset, tmp_path):
    peers = f"127.0.0.1:{node.port}"
    p = run("get", "--peers", peers, "nosuch/x.bin")
    assert_fails_with_reason(p, "unknown origin 'nosuch'")
    # A prefix that matches nothing is a typo until shown otherwise: a reason, and exit 1.
    for cmd in ("ls", "warm"):
        p = run(cmd, "--peers", peers, "data/typo/")
        assert_fails_with_reason(p, "no objects under data/typo/")
        assert p.returncode == 1
    p = run("frobnicate")
    assert_fails_with_reason(p, "unknown command 'frobnicate'")
    assert "serve" in reason_lines(p.stderr)[1]
    p = run("--version")
    assert p.returncode == 0 and re.fullmatch(rb"unicache \d+\.\d+\.\d+\n", p.stdout), p.stdout
    # The tool's own options work after the subcommand too.
    p = run("ls", "--log-level", "warn", "--peers", peers, "data/train/")
    assert p.returncode == 0 and b"train/s0.bin" in p.stdout, p.stderr
    # -q: no progress lines, the result still written.
    out = tmp_path / "top.bin"
    p = run("-q", "get", "--peers", peers, "data/top.bin", "-o", str(out))
    assert p.returncode == 0 and p.stderr == b"" and out.read_bytes() == dataset[1]["top.bin"]
    p = run("get", "--peers", peers, "data/top.bin", "-o", str(out))
    assert p.returncode == 0 and b"get data/top.bin" in p.stderr  # progress without -q
    p = run("warm", "-q", "--peers", peers, "data/")
    assert p.returncode == 0 and p.stderr == b"" and b"warmed 4 objects" in p.stdout
    # An origin error names the origin once.
    p = run("serve", "--listen", f"127.0.0.1:{free_port()}", "--origin", "web=/no/such/dir",
            "--cache-dir", str(tmp_path / "c"), timeout=20)
    assert_fails_with_reason(p, "origin 'web'")
    assert reason_lines(p.stderr)[0].count("origin 'web'") == 1, p.stderr
    # SIZE options say what a size is, not a block-size that makes no sense.
    help_text = run("serve", "--help").stdout.decode()
    assert "512MiB, 4GiB" not in help_text and "KiB, MiB, GiB" in help_text
    # The node logged its first membership view once.
    with open(node.log_path) as f:
        assert f.read().count("membership view 1:") == 1


def test_get_without_node():
    port = free_port()
    start = time.time()
    p = run("get", "--peers", f"127.0.0.1:{port}", "data/x.bin", timeout=30)
    assert_fails_with_reason(p)
    assert any("hint" in l and f"127.0.0.1:{port}" in l for l in reason_lines(p.stderr)), p.stderr
    assert time.time() - start < 10
    p = run("ls", "--peers", f"127.0.0.1:{port}", "data", timeout=30)
    assert_fails_with_reason(p)
    assert any("hint" in l for l in reason_lines(p.stderr)), p.stderr


def test_serve_bad_flags(tmp_path):
    port = free_port()
    base = ["--listen", f"127.0.0.1:{port}", "--origin", f"data={tmp_path}", "--cache-dir", str(tmp_path / "c")]
    cases = [
        (["serve", *base, "--ram", "12XB"], "ram"),
        (["serve", "--listen", f"127.0.0.1:{port}", "--origin", f"data={tmp_path}"], "cache-dir"),
        (["serve", *base[2:], "--listen", "nonsense"], "listen"),
        (["serve", *base[2:], "--listen", "127.0.0.1:99999"], "port"),
        (["serve", *base, "--origin", f"data={tmp_path}"], "data"),
        (["serve", *base, "--block-size", "1KiB"], "block-size"),
        (["serve", *base, "--fetch-run", "4MiB"], "fetch-run"),  # less than two blocks
        (["serve", *base, "--ram", "64MiB", "--fetch-run", "1GiB"], "fetch-run"),  # more than --ram
        (["serve", *base, "--metadata-ttl", "soon"], "metadata-ttl"),
        (["serve", "--listen", f"127.0.0.1:{port}", "--cache-dir", str(tmp_path / "c")], "origin"),
        (["serve", *base[:2], "--origin", f"data={tmp_path}/does-not-exist", "--cache-dir", str(tmp_path / "c")], ""),
    ]
    for args, word in cases:
        start = time.time()
        p = run(*args, timeout=20)
        assert time.time() - start < 5, args
        assert_fails_with_reason(p, word)
    # Port already taken: a clear reason, not a hang.
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        p = run("serve", "--listen", f"127.0.0.1:{busy}", *base[2:], timeout=20)
        assert_fails_with_reason(p)


def test_second_node_on_a_served_port_refuses_to_start(make_node, dataset, tmp_path):
    """Two nodes never share one address: the second one exits with a reason, and every
    connection keeps going to the first (each loop of which accepts on the same socket)."""
    first = make_node(str(dataset[0]), extra=["--io-threads", "2"])
    p = run("serve", "--listen", f"127.0.0.1:{first.port}", "--origin", f"data={dataset[0]}",
            "--cache-dir", str(tmp_path / "second"), "--io-threads", "2", timeout=20)
    assert_fails_with_reason(p, f"127.0.0.1:{first.port}", "another process")
    node_id = requests.get(first.url + "/v1/members", timeout=5).json()["members"][0]["id"]
    for _ in range(20):
        with requests.Session() as s:  # a new connection each time
            assert s.get(first.url + "/v1/members", timeout=5).json()["members"][0]["id"] == node_id
    assert first.proc.poll() is None


def test_demo(tmp_path):
    p = run("demo", "--files", "4", "--file-size", "1MiB", env={"TMPDIR": str(tmp_path)}, timeout=100)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "hit ratio" in out
    assert "hot  pass" in out and "100.0%" in out.split("hot  pass")[1].splitlines()[0]
    assert os.listdir(tmp_path) == []  # cleaned up


def test_serve_config_file(tmp_path, dataset, spawn_serve):
    root, files = dataset
    port = free_port()
    cfg = tmp_path / "unicache.toml"
    cfg.write_text(f'listen = "127.0.0.1:{port}"\n'
                   f'origin = ["data={root}"]\n'
                   f'cache-dir = "{tmp_path / "cfgcache"}"\n'
                   'block-size = "64KiB"\n'
                   'ram = "64MiB"\n'
                   'metadata-ttl = "2s"\n')
    spawn_serve(["--config", str(cfg)], port)
    r = requests.get(f"http://127.0.0.1:{port}/v1/objects/data/top.bin", timeout=30)
    assert r.status_code == 200 and r.content == files["top.bin"]
    m = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    assert 'unicache_tier_capacity_bytes{tier="ram"} 67108864' in m
    members = requests.get(f"http://127.0.0.1:{port}/v1/members", timeout=30).json()
    assert members["block_size"] == 64 * 1024
    assert os.path.isdir(tmp_path / "cfgcache")
    # Flags win over the file; a flag (--immutable) can be set from the file.
    cfg2 = tmp_path / "flags.toml"
    cfg2.write_text(cfg.read_text().replace('metadata-ttl = "2s"\n', "immutable = true\n"))
    port2 = free_port()
    spawn_serve(["--config", str(cfg2), "--listen", f"127.0.0.1:{port2}", "--cache-dir",
                 str(tmp_path / "cfgcache2")], port2)
    r = requests.get(f"http://127.0.0.1:{port2}/v1/objects/data/top.bin", timeout=30)
    assert r.status_code == 200 and r.content == files["top.bin"]
    assert os.path.isdir(tmp_path / "cfgcache2")


def test_serve_bad_config_file(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'listen = "127.0.0.1:{free_port()}"\norigins = ["data={tmp_path}"]\n'
                   f'cache-dir = "{tmp_path / "c"}"\n')  # misspelt key
    assert_fails_with_reason(run("serve", "--config", str(cfg), timeout=20), "origins")
    assert_fails_with_reason(run("serve", "--config", str(tmp_path / "missing.toml"), timeout=20))


def test_serve_env_vars(tmp_path, dataset, spawn_serve):
    root, files = dataset
    port = free_port()
    env = {"UNICACHE_LISTEN": f"127.0.0.1:{port}", "UNICACHE_ORIGIN": f"data={root}",
           "UNICACHE_CACHE_DIR": str(tmp_path / "envcache"), "UNICACHE_RAM": "32MiB",
           "UNICACHE_BLOCK_SIZE": "128KiB"}
    spawn_serve([], port, env=env)
    r = requests.get(f"http://127.0.0.1:{port}/v1/objects/data/train/s0.bin", timeout=30)
    assert r.status_code == 200 and r.content == files["train/s0.bin"]
    m = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    assert 'unicache_tier_capacity_bytes{tier="ram"} 33554432' in m
    assert requests.get(f"http://127.0.0.1:{port}/v1/members", timeout=30).json()["block_size"] == 128 * 1024
    # Flags win over the environment.
    port2 = free_port()
    spawn_serve(["--listen", f"127.0.0.1:{port2}", "--cache-dir", str(tmp_path / "envcache2")], port2, env=env)
    assert requests.get(f"http://127.0.0.1:{port2}/v1/objects/data/top.bin", timeout=30).content == files["top.bin"]


def test_sim_quick_writes_tables_charts_and_json(tmp_path):
    """`unicache sim --quick` runs every scenario on the real placement code, small."""
    import json
    r = subprocess.run([BIN, "sim", "--quick", "--json", "--out", str(tmp_path / "sim")],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    out = json.loads(r.stdout)
    assert set(out) == {"balance", "churn", "storm", "membership"}
    assert 0 < out["balance"]["lookup_ns_p50"] < 100_000
    assert 1.0 < out["balance"]["max_over_mean"] < 2.0
    churn = out["churn"]
    assert 0.9 < churn["moved_fraction"] / churn["ideal_fraction"] < 1.1
    assert churn["restart_moved_fraction"] == 0
    designs = {d["design"]: d for d in out["storm"]["designs"]}
    assert designs["unicache, 1 owner a block"]["origin_bytes"] == out["storm"]["checkpoint_bytes"]
    assert designs["origin read directly"]["origin_bytes"] == (
        out["storm"]["checkpoint_bytes"] * out["storm"]["hosts"])
    assert out["membership"]["largest_members"]["etcd watched"] > 10 * (
        out["membership"]["largest_members"]["etcd polled (before)"])
    for name in ("balance", "churn", "storm", "membership"):
        csv = (tmp_path / "sim" / f"{name}.csv").read_text().splitlines()
        assert len(csv) >= 3, name
        png = (tmp_path / "sim" / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG"), name
    # One scenario alone prints its own headline; bad input is refused plainly.
    r = subprocess.run([BIN, "sim", "churn", "--members", "50", "--blocks", "20000", "--json",
                        "--out", str(tmp_path / "one")], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert {"moved_fraction", "ideal_fraction"} <= set(json.loads(r.stdout))
    r = subprocess.run([BIN, "sim", "churn", "--members", "5", "--leave", "5", "--out",
                        str(tmp_path / "bad")], capture_output=True, timeout=60)
    assert r.returncode != 0 and b"--leave" in r.stderr
    r = subprocess.run([BIN, "sim", "storm", "--replicas", "0", "--out", str(tmp_path / "bad")],
                       capture_output=True, timeout=60)
    assert r.returncode != 0 and b"--replicas 0" in r.stderr
    r = subprocess.run([BIN, "sim"], capture_output=True, timeout=60)
    assert r.returncode == 2 and b"--quick" in r.stderr

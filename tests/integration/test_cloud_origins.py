"""End to end: `unicache serve` in front of real Azure Blob (Azurite) and S3 (s3rver) servers.

The data set is written with independent real clients (boto3 for S3, a Python Shared Key signer for
Azure), then read through the node cold and hot, listed, overwritten, and read from dead origins.
Skips (with the reason) only when the emulators are not installed.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest
import requests

import cloud_servers as cs
from conftest import BIN, free_port, metric, seeded_bytes, stop_process

BLOCK = 256 << 10
CONTAINER = "data"
BUCKET = "data"
ORIGINS = ("az", "s3")
CANARY_AZURE_KEY = base64.b64encode(b"unicache-canary-azure-account-key-7f3a9c").decode()
CANARY_AWS_SECRET = "unicacheCanarySecret/7f3a9c+AWS"



def _dataset():
    d = {
        "small/a.txt": b"hello unicache\n" * 70,
        "small/b.bin": seeded_bytes("b", 100 << 10),
        "nested/deep/c.bin": seeded_bytes("c", 300 << 10),            # 2 blocks
        "big/multi.bin": seeded_bytes("multi", 6 * BLOCK + 12345),    # 7 blocks, last one partial
        "names/with space+plus.bin": seeded_bytes("names", 5000),
        "empty.bin": b"",
    }
    for i in range(23):
        d[f"many/f{i:03d}.bin"] = seeded_bytes(f"many{i}", 1000 + i)
    return d


DATASET = _dataset()
DATASET_BYTES = sum(len(v) for v in DATASET.values())


def sha(b):
    return hashlib.sha256(b).hexdigest()


@pytest.fixture(scope="module")
def cloud():
    reason = cs.missing_binaries()
    if reason:
        print(reason)
        pytest.skip(reason)
    work = tempfile.mkdtemp(prefix="unicache-cloud-")
    servers = []
    try:
        az = cs.start_azurite(work)
        servers.append(az)
        s3 = cs.start_s3rver(work)
        servers.append(s3)
        sess = requests.Session()
        cs.azure_create_container(sess, az.port, CONTAINER)
        s3c = cs.s3_client(s3.port)
        s3c.create_bucket(Bucket=BUCKET)
        for name, data in DATASET.items():
            cs.azure_put_blob(sess, az.port, CONTAINER, name, data)
            s3c.put_object(Bucket=BUCKET, Key=name, Body=data)
        yield {"az": az, "s3": s3, "session": sess, "s3c": s3c, "work": work}
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


class Node:
    def __init__(self, work, origins, env, extra=()):
        self.port = free_port()
        self.cache = tempfile.mkdtemp(prefix="cache-", dir=work)
        self.log_path = self.cache + ".log"
        args = [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--cache-dir", self.cache,
                "--ram", "64MiB", "--ssd", "256MiB", "--block-size", str(BLOCK), *extra]
        for name, uri in origins.items():
            args += ["--origin", f"{name}={uri}"]
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "AZURE_STORAGE_"))}
        full_env.update(env)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        self.http = requests.Session()
        deadline = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited {self.proc.returncode}: {self.read_log()}")
            try:
                if self.http.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                raise RuntimeError("node not healthy: " + self.read_log())
            time.sleep(0.05)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def obj_url(self, origin, name):
        return f"{self.url}/v1/objects/{origin}/{urllib.parse.quote(name, safe='/')}"

    def get(self, origin, name, headers=None, method="GET"):
        return self.http.request(method, self.obj_url(origin, name), headers=headers or {},
                                 timeout=60)

    def metrics(self):
        return self.http.get(self.url + "/metrics", timeout=10).text

    def origin_bytes(self, origin):
        return metric(self.metrics(), f'unicache_origin_bytes_total{{origin="{origin}"}}')

    def origin_requests(self, origin):
        return metric(self.metrics(), f'unicache_origin_requests_total{{origin="{origin}"}}')

    def hits(self):
        m = self.metrics()
        return sum(metric(m, f'unicache_cache_hits_total{{tier="{t}"}}') for t in ("ram", "ssd"))

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        stop_process(self.proc)
        self.log.close()
        self.http.close()


@pytest.fixture
def make_node(cloud):
    nodes = []

    def factory(extra=("--immutable",), az_key=cs.AZURE_KEY, aws_key_id=cs.S3_KEY_ID,
                aws_secret=cs.S3_SECRET, origins=None):
        env = dict(cs.azure_env(cloud["az"].port, key=az_key))
        env.update({"AWS_ACCESS_KEY_ID": aws_key_id, "AWS_SECRET_ACCESS_KEY": aws_secret})
        if origins is None:
            origins = {"az": cs.azure_origin_uri(CONTAINER, cloud["az"].port),
                       "s3": cs.s3_origin_uri(BUCKET, cloud["s3"].port)}
        n = Node(cloud["work"], origins, env, extra)
        nodes.append(n)
        return n

    yield factory
    for n in nodes:
        n.stop()


def _secrets_absent(text, where):
    for secret in (cs.AZURE_KEY, CANARY_AZURE_KEY, CANARY_AWS_SECRET,
                   urllib.parse.quote(CANARY_AWS_SECRET, safe="")):
        assert secret not in text, f"a credential appears in {where}"
    assert "SharedKey " + cs.AZURE_ACCOUNT + ":" not in text, f"an Authorization header in {where}"
    assert "Signature=" not in text, f"a SigV4 signature in {where}"


# ---- reads ----

@pytest.mark.parametrize("origin", ORIGINS)
def test_cold_then_hot_reads_match_and_origin_bytes(make_node, origin):
    node = make_node()
    assert node.origin_bytes(origin) == 0
    for name, data in DATASET.items():
        r = node.get(origin, name)
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        assert sha(r.content) == sha(data), name
        assert int(r.headers["content-length"]) == len(data)
    assert node.origin_bytes(origin) == DATASET_BYTES, "cold read: each byte fetched once"
    other = "s3" if origin == "az" else "az"
    assert node.origin_bytes(other) == 0
    hits_before = node.hits()
    for name, data in DATASET.items():
        r = node.get(origin, name)
        assert r.status_code == 200 and sha(r.content) == sha(data), name
        h = node.get(origin, name, method="HEAD")
        assert h.status_code == 200 and int(h.headers["content-length"]) == len(data)
    assert node.origin_bytes(origin) == DATASET_BYTES, "hot reads add no origin bytes"
    assert node.hits() - hits_before >= sum(1 for v in DATASET.values() if v)


@pytest.mark.parametrize("origin", ORIGINS)
def test_ranges_on_multi_block_object(make_node, origin):
    node = make_node()
    data = DATASET["big/multi.bin"]
    n = len(data)
    ranges = [(0, 0), (BLOCK - 10, BLOCK + 10), (BLOCK, 2 * BLOCK - 1), (3 * BLOCK + 7, 5 * BLOCK + 99),
              (n - 5, n - 1), (100, n - 1)]
    for cold_pass in (True, False):
        for a, z in ranges:
            r = node.get(origin, "big/multi.bin", {"Range": f"bytes={a}-{z}"})
            assert r.status_code == 206, (a, z, r.status_code, r.text[:200])
            assert r.content == data[a:z + 1], (a, z, cold_pass)
            assert r.headers["content-range"] == f"bytes {a}-{z}/{n}"
        r = node.get(origin, "big/multi.bin", {"Range": "bytes=-1000"})
        assert r.status_code == 206 and r.content == data[-1000:]
        r = node.get(origin, "big/multi.bin", {"Range": f"bytes={5 * BLOCK}-"})
        assert r.status_code == 206 and r.content == data[5 * BLOCK:]
    # Ranges touch every block but block 4 partially; the origin never sends more than the object.
    assert node.origin_bytes(origin) <= n
    r = node.get(origin, "big/multi.bin", {"Range": f"bytes={n}-{n + 10}"})
    assert r.status_code == 416


@pytest.mark.parametrize("origin", ORIGINS)
def test_streamed_cold_reads_use_one_origin_get_per_object(make_node, origin):
    """--fetch-run: a cold object is opened with one streamed GET that also brings its size and
    ETag (no separate metadata request), byte-for-byte equal, each byte fetched once."""
    node = make_node(extra=("--immutable", "--fetch-run", str(8 * BLOCK)))
    for name, data in DATASET.items():
        r = node.get(origin, name)
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        assert sha(r.content) == sha(data), name
    assert node.origin_bytes(origin) == DATASET_BYTES, "each byte fetched once"
    # One GET per object, metadata included: every object fits a run. (The empty object's ranged
    # GET is unsatisfiable; its metadata then comes from a HEAD within the same origin call.)
    assert node.origin_requests(origin) == len(DATASET)
    for name, data in DATASET.items():
        r = node.get(origin, name)
        assert r.status_code == 200 and sha(r.content) == sha(data), name
    assert node.origin_bytes(origin) == DATASET_BYTES, "hot reads add no origin bytes"


@pytest.mark.parametrize("origin", ORIGINS)
def test_streamed_cold_ranges_start_mid_object(make_node, origin):
    """A run from a block in the middle asks for the rest of the object (an open-ended range)
    or for a bounded range when the run ends earlier."""
    data = DATASET["big/multi.bin"]
    for run_blocks in (8, 2):
        node = make_node(extra=("--immutable", "--readahead", "0",
                                "--fetch-run", str(run_blocks * BLOCK)))
        for a, z in [(3 * BLOCK + 7, 5 * BLOCK + 99), (BLOCK - 10, BLOCK + 10), (0, len(data) - 1)]:
            r = node.get(origin, "big/multi.bin", {"Range": f"bytes={a}-{z}"})
            assert r.status_code == 206, (run_blocks, a, z, r.status_code, r.text[:200])
            assert r.content == data[a:z + 1], (run_blocks, a, z)
        assert node.origin_bytes(origin) == len(data), run_blocks


# ---- listing ----

@pytest.mark.parametrize("origin", ORIGINS)
def test_list_with_pagination(cloud, make_node, origin):
    node = make_node()
    want = {k: len(v) for k, v in DATASET.items() if k.startswith("many/")}
    got, pages, token = {}, 0, ""
    while True:
        params = {"max-keys": "7"}
        if token:
            params["token"] = token
        r = node.http.get(f"{node.url}/v1/list/{origin}/many/", params=params, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["objects"]) <= 7
        for o in body["objects"]:
            assert o["path"] not in got, "a key listed twice"
            got[o["path"]] = o["size"]
        pages += 1
        token = body["next_token"]
        if not token:
            break
        assert pages < 20
    assert got == want
    assert pages == 4
    # Delimiter: the top level shows prefixes and the objects at the root.
    r = node.http.get(f"{node.url}/v1/list/{origin}/", params={"delimiter": "/"}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    want_prefixes = {"big/", "many/", "names/", "nested/", "small/"}
    if origin == "s3":
        # s3rver leaves out common prefixes that only hold deeper keys ("nested/deep/c.bin"):
        # expect what boto3 gets from it directly.
        direct = cloud["s3c"].list_objects_v2(Bucket=BUCKET, Delimiter="/")
        want_prefixes = {p["Prefix"] for p in direct.get("CommonPrefixes", [])} - {"mutable/"}
    assert set(body["prefixes"]) - {"mutable/"} == want_prefixes
    assert [o["path"] for o in body["objects"]] == ["empty.bin"]


# ---- changing objects ----

def _put(cloud, origin, name, data):
    if origin == "az":
        cs.azure_put_blob(cloud["session"], cloud["az"].port, CONTAINER, name, data)
    else:
        cloud["s3c"].put_object(Bucket=BUCKET, Key=name, Body=data)


@pytest.mark.parametrize("origin", ORIGINS)
def test_overwrite_seen_after_metadata_ttl_without_mixing(cloud, make_node, origin):
    name = f"mutable/{origin}.bin"
    size = 4 * BLOCK + 1000
    old, new = seeded_bytes("old" + origin, size), seeded_bytes("new" + origin, size)
    _put(cloud, origin, name, old)
    node = make_node(extra=("--metadata-ttl", "1s"))
    assert sha(node.get(origin, name).content) == sha(old)
    _put(cloud, origin, name, new)
    seen, errors, bad = [], [], []
    stop = threading.Event()
    versions = {sha(old): "old", sha(new): "new"}

    def reader():
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.get(node.obj_url(origin, name), timeout=30)
            except requests.RequestException as e:  # a cut response is not a mixed one
                errors.append(repr(e))
                continue
            if r.status_code != 200:
                errors.append(r.status_code)
                continue
            if len(r.content) != size:
                errors.append(f"short body {len(r.content)}")  # cut: not mixed
                continue
            v = versions.get(sha(r.content))
            if v is None:
                bad.append(len(r.content))
            else:
                seen.append(v)
        s.close()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    deadline = time.time() + 10
    while time.time() < deadline and not (seen and seen[-1] == "new" and seen.count("new") >= 3):
        time.sleep(0.1)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert not bad, f"{len(bad)} responses mixed old and new bytes"
    assert "new" in seen, f"new version never served (errors: {errors[:3]})"
    time.sleep(1.2)
    r = node.get(origin, name)
    assert r.status_code == 200 and sha(r.content) == sha(new)
    r = node.get(origin, name, {"Range": f"bytes={BLOCK - 3}-{3 * BLOCK + 2}"})
    assert r.status_code == 206 and r.content == new[BLOCK - 3:3 * BLOCK + 3]
    _secrets_absent(node.read_log(), "the node log")


@pytest.mark.parametrize("origin", ORIGINS)
def test_overwrite_of_partly_cached_object_never_mixes(cloud, make_node, origin):
    """Only block 0 of the old version is cached when the object changes; a full read within the
    metadata TTL must not splice old block 0 onto new blocks."""
    name = f"mutable/partial-{origin}.bin"
    size = 4 * BLOCK + 1000
    old, new = seeded_bytes("pold" + origin, size), seeded_bytes("pnew" + origin, size)
    _put(cloud, origin, name, old)
    node = make_node(extra=("--metadata-ttl", "30s", "--readahead", "0"))
    r = node.get(origin, name, {"Range": "bytes=0-99"})
    assert r.status_code == 206 and r.content == old[:100]
    _put(cloud, origin, name, new)
    try:
        r = node.get(origin, name)
    except requests.RequestException:
        return  # the response was cut: the client sees an error, never mixed bytes
    if r.status_code == 200 and len(r.content) < size:
        # Cut short after the headers went out (urllib3 1.x does not raise on a short body).
        assert r.content == old[:len(r.content)], "a cut response must hold only the old version"
    elif r.status_code == 200:
        assert sha(r.content) in (sha(old), sha(new)), "a response mixed two versions"
    else:
        body = r.json()
        assert "error" in body and r.status_code in (409, 412, 502, 503), r.text


# ---- credentials ----

@pytest.mark.parametrize("origin", ORIGINS)
def test_wrong_credentials_fail_clearly_and_never_leak(make_node, origin):
    # s3rver does not verify SigV4 signatures, only that the access key id exists: an unknown key
    # id makes the S3 side fail; Azurite checks the Shared Key signature itself.
    node = make_node(az_key=CANARY_AZURE_KEY, aws_key_id="UNICACHECANARYKEYID",
                     aws_secret=CANARY_AWS_SECRET)
    bodies = []
    t = time.time()
    r = node.get(origin, "small/a.txt")
    assert time.time() - t < 15
    assert r.status_code in (401, 403, 502), r.text
    body = r.json()
    assert body["error"]
    bodies.append(r.text)
    r = node.http.get(f"{node.url}/v1/list/{origin}/small/", timeout=30)
    assert r.status_code >= 400
    bodies.append(r.text)
    for b in bodies:
        _secrets_absent(b, "an error body")
    node.stop()
    _secrets_absent(node.read_log(), "the node log")


def test_good_credentials_never_leak(make_node):
    node = make_node()
    texts = []
    for origin in ORIGINS:
        texts.append(node.get(origin, "small/a.txt").text)
        r = node.get(origin, "no/such/object")
        assert r.status_code == 404, r.text
        assert r.json()["error"]
        texts.append(r.text)
        texts.append(node.get(origin, "small/a.txt", {"Range": "bytes=999999-"}).text)
        texts.append(node.http.get(f"{node.url}/v1/list/{origin}/many/", timeout=30).text)
    texts.append(node.metrics())
    for t in texts:
        _secrets_absent(t, "a response")
    node.stop()
    _secrets_absent(node.read_log(), "the node log")


# ---- dead origin ----

def test_dead_s3_endpoint_fails_fast_and_node_keeps_serving(cloud, make_node):
    dead = free_port()
    node = make_node(origins={
        "dead": f"s3://{BUCKET}?endpoint=http://127.0.0.1:{dead}&region=us-east-1&style=path",
        "az": cs.azure_origin_uri(CONTAINER, cloud["az"].port)})
    for path in ("small/a.txt", "big/multi.bin"):
        t = time.time()
        r = node.get("dead", path)
        took = time.time() - t
        assert took < 15, f"GET from a dead origin took {took:.1f}s"
        assert r.status_code in (502, 504), (r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert body["error"] and body["code"], body
    t = time.time()
    r = node.http.get(f"{node.url}/v1/list/dead/", timeout=30)
    assert time.time() - t < 15 and r.status_code in (502, 504), r.text
    assert node.http.get(node.url + "/healthz", timeout=5).status_code == 200
    r = node.get("az", "nested/deep/c.bin")
    assert r.status_code == 200 and r.content == DATASET["nested/deep/c.bin"]
    assert node.proc.poll() is None

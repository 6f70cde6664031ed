#!/usr/bin/env python3
"""Reading through unicache's S3-compatible endpoint with real S3 clients, side by side in one
run with the same clients reading the origin directly (s3rver) and with unicache's own
/v1/objects path.

  boto3    get_object of each object, the body read in 1 MiB pieces, one object after the other
  aws cli  `aws s3 cp --recursive` of the whole prefix (its transfer manager: ranged GETs of
           8 MiB in 10 threads), into a tmpfs folder removed after each pass
  http     one keep-alive http.client connection, readinto() one reused 1 MiB buffer: the same
           reader on the S3 endpoint (presigned SigV4 URLs, verified on every request) and on
           /v1/objects, to isolate what the S3 front-end costs

For each client, in every run (runs interleave, so a noisy minute hits every variant):
  direct   the client against s3rver
  cold     the client against a fresh node's S3 endpoint (new cache dir: every block a miss,
           fetched from s3rver by the node)
  hot      the same node read again (every block a RAM-tier hit)
and for the http reader on the hot node: s3 (presigned) then native (/v1/objects), alternated.

The CLI's own CPU time over each pass's wall time is reported too: the CLI is Python, and
when it nears one core it, not the server, sets the pace.

Usage: bench/s3_endpoint.py [--objects 16] [--size 64MiB] [--runs 3]
Targets (issue #16): hot >= 5x direct; the S3 endpoint >= 0.9x the native path on the same reads.
"""
import argparse
import http.client
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import boto3
from botocore.config import Config

import benchlib as b

sys.path.insert(0, os.path.join(b.ROOT, "tests", "integration"))
import cloud_servers as cs  # noqa: E402

BUCKET = "bench"
AWS = "/usr/bin/aws"
KEY, SECRET = "AKBENCH", "bench-secret"


class HttpReader:
    """GETs over one keep-alive connection, bodies read into one reused buffer."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.buf = memoryview(bytearray(1 << 20))

    def get(self, target):
        self.conn.request("GET", target)
        resp = self.conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"GET {target}: HTTP {resp.status}: {resp.read()[:300]!r}")
        n = 0
        while k := resp.readinto(self.buf):
            n += k
        return n


def boto3_client(endpoint, key, secret):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      max_pool_connections=16))


def cli_env(key, secret, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and "CA_BUNDLE" not in k}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.path.join(home, "none"), AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "none"),
               AWS_EC2_METADATA_DISABLED="true", HOME=home)
    return env


def rate(nbytes, fn):
    t = time.perf_counter()
    got = fn()
    secs = time.perf_counter() - t
    if got != nbytes:
        raise RuntimeError(f"read {got} bytes, expected {nbytes}")
    return nbytes / secs / 1e6


def boto3_pass(client, names):
    n = 0
    for name in names:
        body = client.get_object(Bucket=BUCKET, Key=name)["Body"]
        while chunk := body.read(1 << 20):
            n += len(chunk)
    return n


CLI_LOAD = []  # the CLI's CPU seconds over wall seconds, each pass


def cli_pass(endpoint, env, scratch):
    out = tempfile.mkdtemp(prefix="cli-", dir=scratch)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    try:
        subprocess.run([AWS, "--endpoint-url", endpoint, "s3", "cp", "--recursive", "--only-show-errors",
                        f"s3://{BUCKET}/objects/", out], env=env, check=True, timeout=600)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        CLI_LOAD.append(cpu / (time.perf_counter() - t))
        return sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    finally:
        shutil.rmtree(out)


class Node:
    def __init__(self, work, s3port, keys):
        self.port, self.s3_port = b.free_port(), b.free_port()
        self.cache = tempfile.mkdtemp(prefix="cache-", dir=work)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(cs.s3_env())
        self.proc = b.Proc([b.UNICACHE, "serve", "--listen", f"127.0.0.1:{self.port}",
                            "--origin", f"{BUCKET}={cs.s3_origin_uri(BUCKET, s3port)}",
                            "--cache-dir", self.cache, "--ram", "1GiB", "--ssd", "8GiB", "--immutable",
                            "--prefault-ram", "--s3-listen", f"127.0.0.1:{self.s3_port}",
                            "--s3-keys", keys], self.cache + ".log", env=env)
        b.wait_http(f"http://127.0.0.1:{self.port}/healthz", timeout=90)
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"

    def stop(self):
        self.proc.stop()
        shutil.rmtree(self.cache, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=16)
    ap.add_argument("--size", default="64MiB")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    size = b.parse_size(args.size)
    names = [f"objects/o{i:03d}.bin" for i in range(args.objects)]
    total = size * len(names)
    print("command: /usr/bin/python3 bench/s3_endpoint.py " + " ".join(sys.argv[1:]))
    work = tempfile.mkdtemp(prefix="unicache-s3bench-")
    scratch = tempfile.mkdtemp(prefix="unicache-s3bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    keys = os.path.join(work, "keys")
    with open(keys, "w") as f:
        f.write(f"{KEY} {SECRET} *\n")
    os.chmod(keys, 0o600)
    server = cs.start_s3rver(work)
    results = {}  # (client, variant) -> [MB/s]

    def note(client, variant, value):
        results.setdefault((client, variant), []).append(value)
        b.log(f"  {client:6} {variant:7} {value:8.0f} MB/s")

    try:
        direct = cs.s3_client(server.port)
        direct.create_bucket(Bucket=BUCKET)
        for i, name in enumerate(names):
            direct.put_object(Bucket=BUCKET, Key=name, Body=os.urandom(size))
        b.log(f"uploaded {len(names)} x {b.parse_size(args.size) >> 20} MiB to s3rver")
        direct_endpoint = f"http://127.0.0.1:{server.port}"
        direct_boto3 = boto3_client(direct_endpoint, cs.S3_KEY_ID, cs.S3_SECRET)
        direct_env = cli_env(cs.S3_KEY_ID, cs.S3_SECRET, work)
        node_env = cli_env(KEY, SECRET, work)
        for run in range(args.runs):
            b.log(f"run {run + 1}/{args.runs}")
            note("boto3", "direct", rate(total, lambda: boto3_pass(direct_boto3, names)))
            node = Node(work, server.port, keys)
            try:
                client = boto3_client(node.endpoint, KEY, SECRET)
                note("boto3", "cold", rate(total, lambda: boto3_pass(client, names)))
                note("boto3", "hot", rate(total, lambda: boto3_pass(client, names)))
                # The same reader on both front-ends of the hot node, alternated.
                reader_s3, reader_native = HttpReader(node.s3_port), HttpReader(node.port)
                for _ in range(2):
                    urls = [client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": n},
                                                          ExpiresIn=3600) for n in names]
                    targets = [urllib.parse.urlsplit(u) for u in urls]
                    note("http", "s3", rate(total, lambda: sum(
                        reader_s3.get(t.path + "?" + t.query) for t in targets)))
                    note("http", "native", rate(total, lambda: sum(
                        reader_native.get(f"/v1/objects/{BUCKET}/{n}") for n in names)))
            finally:
                node.stop()
            note("cli", "direct", rate(total, lambda: cli_pass(direct_endpoint, direct_env, scratch)))
            node = Node(work, server.port, keys)
            try:
                note("cli", "cold", rate(total, lambda: cli_pass(node.endpoint, node_env, scratch)))
                note("cli", "hot", rate(total, lambda: cli_pass(node.endpoint, node_env, scratch)))
            finally:
                node.stop()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)

    med = {k: b.median(v) for k, v in results.items()}
    rows = []
    for client, label in (("boto3", "boto3 get_object"), ("cli", "aws s3 cp --recursive")):
        d, c, h = med[(client, "direct")], med[(client, "cold")], med[(client, "hot")]
        rows.append([label, f"{d:.0f}", f"{c:.0f}", f"{h:.0f}", f"{c / d:.2f}x", f"{h / d:.2f}x"])
    print(f"\n{len(names)} objects x {size >> 20} MiB, medians of {args.runs} runs (MB/s)\n")
    print(b.table(rows, ["client", "direct (s3rver)", "S3 endpoint cold", "S3 endpoint hot",
                         "cold vs direct", "hot vs direct (target >= 5x)"]))
    s3, native = med[("http", "s3")], med[("http", "native")]
    print()
    print(b.table([["http.client, hot node", f"{s3:.0f}", f"{native:.0f}", f"{s3 / native:.2f}x"]],
                  ["reader", "S3 endpoint (presigned)", "/v1/objects", "S3 vs native (target >= 0.9x)"]))
    print(f"\nAWS CLI CPU over wall time, median of its passes: {b.median(CLI_LOAD):.2f} cores")


if __name__ == "__main__":
    main()

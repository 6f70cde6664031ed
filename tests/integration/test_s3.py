"""The S3-compatible endpoint (`unicache serve --s3-listen`) with real S3 clients: boto3, the AWS
CLI, s3cmd, rclone, curl with presigned URLs, and the AWS SDK for JavaScript v3 (aws-chunked
bodies). Budget: about 90 s."""
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import boto3
import botocore
import pytest
from botocore.config import Config

import cloud_servers as cs
import requests
from cloud_servers import NODE_BIN
from conftest import NodeProcess, free_port, http_get, metric, object_url, seeded_bytes

AWS = "/usr/bin/aws"  # Debian's AWS CLI (another `aws` may come first on PATH)
KEYS = "AK1 SECRET1 *\nAK2 SECRET2 other\n"
JS_SDK = os.path.join(os.path.dirname(NODE_BIN), "@aws-sdk", "client-s3")


class S3Node:
    """A node with two origins (buckets `data` and `other`) and an S3 endpoint."""

    def __init__(self, tmp_path, extra=()):
        self.data = tmp_path / "data"
        self.other = tmp_path / "other"
        self.data.mkdir()
        self.other.mkdir()
        keys = tmp_path / "s3-keys"
        keys.write_text(KEYS)
        keys.chmod(0o600)
        self.s3_port = free_port()
        self.node = NodeProcess(
            ["--origin", f"data={self.data}", "--origin", f"other={self.other}"],
            str(tmp_path / "cache"),
            ["--s3-listen", f"127.0.0.1:{self.s3_port}", "--s3-keys", str(keys), *extra]).start()
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"

    def client(self, key="AK1", secret="SECRET1", **config):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=key,
                            aws_secret_access_key=secret, region_name="us-east-1",
                            config=Config(**config))


@pytest.fixture
def s3node(tmp_path):
    n = S3Node(tmp_path)
    yield n
    n.node.stop()


def client_env(tmp_path, key="AK1", secret="SECRET1"):
    """An environment for CLI clients: these credentials, no user config, no CA overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and "CA_BUNDLE" not in k}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
               AWS_EC2_METADATA_DISABLED="true", HOME=str(tmp_path))
    return env


def run(args, env, timeout=120):
    r = subprocess.run(args, env=env, capture_output=True, timeout=timeout)
    assert r.returncode == 0, f"{args[:3]} failed: {r.stdout.decode()[-2000:]} {r.stderr.decode()[-2000:]}"
    return r.stdout.decode()


def error_code(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_boto3_listing_paginates_and_delimits(s3node):
    many = s3node.data / "many"
    many.mkdir()
    for i in range(2500):
        (many / f"k{i:05d}").write_bytes(b"x")
    (s3node.data / "top.txt").write_bytes(b"top")
    (s3node.data / "dir" / "sub").mkdir(parents=True)
    (s3node.data / "dir" / "sub" / "f").write_bytes(b"f")
    s3 = s3node.client()
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["data", "other"]
    keys, pages = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="data", Prefix="many/",
                                                             PaginationConfig={"PageSize": 1000}):
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
    assert keys == [f"many/k{i:05d}" for i in range(2500)]
    assert pages == 3
    # v1 pages with markers too.
    v1 = [o["Key"] for page in s3.get_paginator("list_objects").paginate(
        Bucket="data", Prefix="many/", PaginationConfig={"PageSize": 700}) for o in page.get("Contents", [])]
    assert v1 == keys
    top = s3.list_objects_v2(Bucket="data", Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["top.txt"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "many/"]
    after = s3.list_objects_v2(Bucket="data", Prefix="many/", StartAfter="many/k02497")
    assert [o["Key"] for o in after["Contents"]] == ["many/k02498", "many/k02499"]
    assert s3.list_objects_v2(Bucket="data", Prefix="nothing/")["KeyCount"] == 0
    s3.head_bucket(Bucket="data")
    assert error_code(lambda: s3.head_bucket(Bucket="missing"))[1] == 404


def test_boto3_reads_ranges_and_conditions(s3node):
    body = seeded_bytes(1, 9 << 20)
    (s3node.data / "obj.bin").write_bytes(body)
    s3 = s3node.client()
    got = s3.get_object(Bucket="data", Key="obj.bin")
    assert got["Body"].read() == body
    etag = got["ETag"]
    ranged = s3.get_object(Bucket="data", Key="obj.bin", Range="bytes=4194000-4194999")
    assert ranged["Body"].read() == body[4194000:4195000]
    assert ranged["ContentRange"] == f"bytes 4194000-4194999/{len(body)}"
    head = s3.head_object(Bucket="data", Key="obj.bin")
    assert head["ContentLength"] == len(body) and head["ETag"] == etag
    assert error_code(lambda: s3.get_object(Bucket="data", Key="obj.bin", IfNoneMatch=etag))[1] == 304
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    assert error_code(lambda: s3.get_object(Bucket="data", Key="obj.bin", IfModifiedSince=future))[1] == 304
    assert error_code(lambda: s3.get_object(Bucket="data", Key="obj.bin", IfMatch='"other"')) == \
        ("PreconditionFailed", 412)
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    assert error_code(lambda: s3.get_object(Bucket="data", Key="obj.bin", IfUnmodifiedSince=past)) == \
        ("PreconditionFailed", 412)
    assert s3.get_object(Bucket="data", Key="obj.bin", IfMatch=etag, Range="bytes=0-9")["Body"].read() == body[:10]
    overridden = s3.get_object(Bucket="data", Key="obj.bin", ResponseContentType="text/csv",
                               ResponseContentDisposition="attachment; filename=x.csv")
    assert overridden["ContentType"] == "text/csv"
    assert overridden["ContentDisposition"] == "attachment; filename=x.csv"
    assert error_code(lambda: s3.get_object(Bucket="data", Key="obj.bin", Range=f"bytes={len(body)}-")) == \
        ("InvalidRange", 416)
    assert error_code(lambda: s3.get_object(Bucket="data", Key="absent")) == ("NoSuchKey", 404)
    assert error_code(lambda: s3.get_object(Bucket="nobucket", Key="k")) == ("NoSuchBucket", 404)
    # The same ETag through the native path: one version, whichever front-end.
    assert http_get(object_url(s3node.node, "obj.bin"), method="HEAD")[1]["etag"] == etag


def test_boto3_writes_copy_delete_and_multipart(s3node):
    s3 = s3node.client()
    small = seeded_bytes(2, 300000)
    put = s3.put_object(Bucket="data", Key="w/small.bin", Body=small)
    assert (s3node.data / "w" / "small.bin").read_bytes() == small
    assert s3.get_object(Bucket="data", Key="w/small.bin")["Body"].read() == small
    assert put["ETag"] == s3.head_object(Bucket="data", Key="w/small.bin")["ETag"]
    # Readable at once through the native path too.
    assert http_get(object_url(s3node.node, "w/small.bin"))[2] == small

    # 100 MiB in 8 MiB parts (boto3's transfer manager: CreateMultipartUpload, UploadPart x13,
    # CompleteMultipartUpload).
    big = seeded_bytes(3, 100 << 20)
    src = s3node.data.parent / "big.src"
    src.write_bytes(big)
    s3.upload_file(str(src), "data", "w/big.bin",
                   Config=boto3.s3.transfer.TransferConfig(multipart_threshold=8 << 20,
                                                           multipart_chunksize=8 << 20))
    on_disk = (s3node.data / "w" / "big.bin").read_bytes()
    assert hashlib.sha256(on_disk).digest() == hashlib.sha256(big).digest()
    assert s3.head_object(Bucket="data", Key="w/big.bin")["ContentLength"] == len(big)
    assert not (s3node.data / ".unicache-uploads").exists() or not any((s3node.data / ".unicache-uploads").iterdir())

    copied = s3.copy_object(Bucket="other", Key="c/copy.bin", CopySource={"Bucket": "data", "Key": "w/small.bin"})
    assert copied["CopyObjectResult"]["ETag"]
    assert (s3node.other / "c" / "copy.bin").read_bytes() == small

    s3.delete_object(Bucket="data", Key="w/small.bin")
    assert not (s3node.data / "w" / "small.bin").exists()
    assert error_code(lambda: s3.get_object(Bucket="data", Key="w/small.bin")) == ("NoSuchKey", 404)
    s3.delete_object(Bucket="data", Key="w/never-there")  # idempotent, as S3
    # Directory markers (Hadoop's s3a mkdirs): taken, not stored.
    assert s3.put_object(Bucket="data", Key="w/dir/", Body=b"")["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert error_code(lambda: s3.head_object(Bucket="data", Key="w/dir/"))[1] == 404
    s3.delete_object(Bucket="data", Key="w/dir/")
    assert error_code(lambda: s3.put_object(Bucket="data", Key="w/dir/", Body=b"data"))[0] == "InvalidArgument"
    assert error_code(lambda: s3.put_object(Bucket="data", Key="a//b", Body=b"x"))[0] == "InvalidArgument"
    for i in range(3):
        s3.put_object(Bucket="data", Key=f"d/{i}", Body=b"%d" % i)
    gone = s3.delete_objects(Bucket="data", Delete={"Objects": [{"Key": f"d/{i}"} for i in range(3)]})
    assert sorted(d["Key"] for d in gone["Deleted"]) == ["d/0", "d/1", "d/2"]
    assert s3.list_objects_v2(Bucket="data", Prefix="d/")["KeyCount"] == 0


def test_multipart_list_abort_and_checks(s3node):
    s3 = s3node.client()
    up = s3.create_multipart_upload(Bucket="data", Key="mp/obj")["UploadId"]
    part1 = seeded_bytes(4, 5 << 20)
    e1 = s3.upload_part(Bucket="data", Key="mp/obj", UploadId=up, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket="data", Key="mp/obj", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    uploads = s3.list_multipart_uploads(Bucket="data")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mp/obj", up)]
    parts = s3.list_parts(Bucket="data", Key="mp/obj", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [(1, 5 << 20, e1), (2, 4, e2)]
    # The staging area never shows in listings.
    assert s3.list_objects_v2(Bucket="data").get("KeyCount") == 0
    bad = {"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]}
    assert error_code(lambda: s3.complete_multipart_upload(
        Bucket="data", Key="mp/obj", UploadId=up, MultipartUpload=bad))[0] == "InvalidPartOrder"
    wrong = {"Parts": [{"PartNumber": 1, "ETag": '"nope"'}, {"PartNumber": 2, "ETag": e2}]}
    assert error_code(lambda: s3.complete_multipart_upload(
        Bucket="data", Key="mp/obj", UploadId=up, MultipartUpload=wrong))[0] == "InvalidPart"
    small_first = s3.create_multipart_upload(Bucket="data", Key="mp/small")["UploadId"]
    t1 = s3.upload_part(Bucket="data", Key="mp/small", UploadId=small_first, PartNumber=1, Body=b"a")["ETag"]
    t2 = s3.upload_part(Bucket="data", Key="mp/small", UploadId=small_first, PartNumber=2, Body=b"b")["ETag"]
    assert error_code(lambda: s3.complete_multipart_upload(
        Bucket="data", Key="mp/small", UploadId=small_first,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": t1}, {"PartNumber": 2, "ETag": t2}]}))[0] == \
        "EntityTooSmall"
    s3.abort_multipart_upload(Bucket="data", Key="mp/small", UploadId=small_first)
    good = {"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}
    s3.complete_multipart_upload(Bucket="data", Key="mp/obj", UploadId=up, MultipartUpload=good)
    assert (s3node.data / "mp" / "obj").read_bytes() == part1 + b"tail"
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="data")
    assert error_code(lambda: s3.list_parts(Bucket="data", Key="mp/obj", UploadId=up)) == ("NoSuchUpload", 404)
    assert error_code(lambda: s3.upload_part(Bucket="data", Key="mp/obj", UploadId="0" * 32,
                                             PartNumber=1, Body=b"x")) == ("NoSuchUpload", 404)


def test_wrong_credentials_and_buckets_fail_with_s3_errors(s3node):
    (s3node.data / "f").write_bytes(b"secret data")
    assert error_code(lambda: s3node.client(secret="WRONG").get_object(Bucket="data", Key="f")) == \
        ("SignatureDoesNotMatch", 403)
    assert error_code(lambda: s3node.client(key="NOBODY").list_buckets()) == ("InvalidAccessKeyId", 403)
    ak2 = s3node.client(key="AK2", secret="SECRET2")
    assert error_code(lambda: ak2.get_object(Bucket="data", Key="f")) == ("AccessDenied", 403)
    assert error_code(lambda: ak2.put_object(Bucket="data", Key="g", Body=b"x")) == ("AccessDenied", 403)
    assert [b["Name"] for b in ak2.list_buckets()["Buckets"]] == ["other"]
    ak2.put_object(Bucket="other", Key="mine", Body=b"ok")
    assert not (s3node.data / "g").exists()
    # Unsigned requests: refused without --s3-anonymous, with an S3 XML error.
    status, headers, body = http_get(f"{s3node.endpoint}/data/f")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert headers["content-type"] == "application/xml"


def sigv4_headers(method, url, body_hash, key="AK1", secret="SECRET1", extra=None, when=None):
    """An independent SigV4 signer (RFC-style, from the AWS documentation) for raw requests."""
    u = urllib.parse.urlsplit(url)
    amz_date = (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    headers = {"host": u.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": body_hash, **(extra or {})}
    names = sorted(headers)
    canonical = "\n".join([method, u.path, u.query, "".join(f"{n}:{headers[n]}\n" for n in names),
                           ";".join(names), body_hash])
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers, k, scope, amz_date, signature


def send(method, url, headers, body=b""):
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_payload_hash_and_clock_skew_are_checked(s3node):
    url = f"{s3node.endpoint}/data/hashed"
    body = b"the real body"
    headers = sigv4_headers("PUT", url, hashlib.sha256(b"another body").hexdigest())[0]
    status, answer = send("PUT", url, headers, body)
    assert status == 400 and b"XAmzContentSHA256Mismatch" in answer
    assert not (s3node.data / "hashed").exists()
    headers = sigv4_headers("PUT", url, hashlib.sha256(body).hexdigest())[0]
    assert send("PUT", url, headers, body)[0] == 200
    assert (s3node.data / "hashed").read_bytes() == body
    skewed = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    headers = sigv4_headers("GET", url, hashlib.sha256(b"").hexdigest(), when=skewed)[0]
    status, answer = send("GET", url, headers)
    assert status == 403 and b"RequestTimeTooSkewed" in answer


def test_signed_aws_chunked_upload(s3node):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD, framed and signed chunk by chunk as the AWS Java SDK
    does under Spark's s3a; a forged chunk fails the upload and leaves the object as it was."""
    data = seeded_bytes(5, 200000)
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)] + [b""]
    url = f"{s3node.endpoint}/data/chunked.bin"

    def encode(forge=False):
        extra = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
        headers, key, scope, amz_date, seed = sigv4_headers(
            "PUT", url, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", extra=extra)
        prev, out = seed, b""
        for i, c in enumerate(chunks):
            to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev,
                                 hashlib.sha256(b"").hexdigest(), hashlib.sha256(c).hexdigest()])
            prev = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            payload = c if not (forge and i == 1) else c[:-1] + b"!"
            out += b"%x;chunk-signature=%s\r\n" % (len(c), prev.encode()) + payload + b"\r\n"
        return headers, out

    headers, body = encode()
    status, answer = send("PUT", url, headers, body)
    assert status == 200, answer
    assert (s3node.data / "chunked.bin").read_bytes() == data
    before = s3node.node.metrics()
    headers, body = encode(forge=True)
    status, answer = send("PUT", url, headers, body)
    assert status == 403 and b"SignatureDoesNotMatch" in answer
    assert (s3node.data / "chunked.bin").read_bytes() == data
    assert metric(s3node.node.metrics(), 'unicache_s3_upload_bodies_total{payload="aws-chunked-signed"}') == \
        metric(before, 'unicache_s3_upload_bodies_total{payload="aws-chunked-signed"}') + 1


@pytest.mark.skipif(not os.path.isdir(JS_SDK), reason="@aws-sdk/client-s3 not installed (scripts/install-test-servers.sh)")
def test_javascript_sdk_sends_aws_chunked(s3node, tmp_path):
    before = metric(s3node.node.metrics(), 'unicache_s3_upload_bodies_total{payload="aws-chunked-unsigned"}')
    env = client_env(tmp_path)
    env["NODE_PATH"] = os.path.dirname(NODE_BIN)
    script = os.path.join(os.path.dirname(__file__), "s3", "upload_chunked.mjs")
    # An ES module resolves packages from its own folder: run a copy beside node_modules.
    local = os.path.join(os.path.dirname(NODE_BIN), "..", "upload_chunked.mjs")
    shutil.copy(script, local)
    try:
        out = run(["node", local, s3node.endpoint, "data", "js/obj.bin", str(5 << 20)], env)
    finally:
        os.unlink(local)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["range_ok"], result
    assert hashlib.sha256((s3node.data / "js" / "obj.bin").read_bytes()).hexdigest() == result["sha256"]
    after = metric(s3node.node.metrics(), 'unicache_s3_upload_bodies_total{payload="aws-chunked-unsigned"}')
    assert after == before + 1, "the SDK's upload was not aws-chunked"


def test_presigned_urls_work_with_curl_and_expire(s3node, tmp_path):
    body = seeded_bytes(6, 100000)
    (s3node.data / "p.bin").write_bytes(body)
    s3 = s3node.client(signature_version="s3v4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": "p.bin"}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    got = subprocess.run(["curl", "-sS", "-f", url], capture_output=True, timeout=30)
    assert got.returncode == 0 and got.stdout == body
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "data", "Key": "up.bin"}, ExpiresIn=60)
    src = tmp_path / "up.src"
    src.write_bytes(b"uploaded with curl")
    assert subprocess.run(["curl", "-sS", "-f", "-T", str(src), put_url], timeout=30).returncode == 0
    assert (s3node.data / "up.bin").read_bytes() == b"uploaded with curl"
    short = s3.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": "p.bin"}, ExpiresIn=1)
    time.sleep(2.1)
    expired = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", short], capture_output=True, timeout=30)
    text = expired.stdout.decode()
    assert text.endswith("403") and "<Code>AccessDenied</Code>" in text and "expired" in text
    tampered = url.replace("p.bin", "up.bin")
    assert subprocess.run(["curl", "-sS", "-f", tampered], capture_output=True, timeout=30).returncode != 0


def test_aws_cli_ls_cp_sync_both_ways(s3node, tmp_path):
    env = client_env(tmp_path)
    aws = [AWS, "--endpoint-url", s3node.endpoint]
    quiet = ["--only-show-errors"]
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    big = seeded_bytes(7, 20 << 20)  # over the CLI's 8 MiB threshold: a multipart upload
    (local / "big.bin").write_bytes(big)
    (local / "sub" / "small.txt").write_bytes(b"small")
    run(aws + ["s3", "cp", *quiet, str(local / "big.bin"), "s3://data/cli/big.bin"], env)
    assert (s3node.data / "cli" / "big.bin").read_bytes() == big
    run(aws + ["s3", "sync", *quiet, str(local), "s3://data/synced/"], env)
    listing = run(aws + ["s3", "ls", "--recursive", "s3://data/synced/"], env)
    assert "synced/big.bin" in listing and "synced/sub/small.txt" in listing
    back = tmp_path / "back"
    run(aws + ["s3", "sync", *quiet, "s3://data/synced/", str(back)], env)
    assert (back / "big.bin").read_bytes() == big
    assert (back / "sub" / "small.txt").read_bytes() == b"small"
    run(aws + ["s3", "cp", *quiet, "s3://data/cli/big.bin", "s3://other/copied.bin"], env)  # multipart copy
    assert (s3node.other / "copied.bin").read_bytes() == big
    run(aws + ["s3", "rm", *quiet, "--recursive", "s3://data/synced/"], env)
    assert not (s3node.data / "synced").exists()


def test_s3cmd_put_get_ls_del(s3node, tmp_path):
    cfg = tmp_path / "s3cfg"
    host = f"127.0.0.1:{s3node.s3_port}"
    cfg.write_text(f"[default]\naccess_key = AK1\nsecret_key = SECRET1\nhost_base = {host}\n"
                   f"host_bucket = {host}\nuse_https = False\nsignature_v2 = False\n")
    s3cmd = ["s3cmd", "-c", str(cfg)]
    env = client_env(tmp_path)
    src = tmp_path / "s.bin"
    data = seeded_bytes(8, 20 << 20)  # over s3cmd's 15 MiB chunk: a multipart upload
    src.write_bytes(data)
    run(s3cmd + ["put", str(src), "s3://data/s3cmd/s.bin"], env)
    assert (s3node.data / "s3cmd" / "s.bin").read_bytes() == data
    assert "s3://data/s3cmd/s.bin" in run(s3cmd + ["ls", "-r", "s3://data/"], env)
    run(s3cmd + ["get", "--force", "s3://data/s3cmd/s.bin", str(tmp_path / "got.bin")], env)
    assert (tmp_path / "got.bin").read_bytes() == data
    run(s3cmd + ["del", "s3://data/s3cmd/s.bin"], env)
    assert not (s3node.data / "s3cmd" / "s.bin").exists()


def test_rclone_copy_out_and_back_then_check(s3node, tmp_path):
    env = client_env(tmp_path)
    env.update(RCLONE_CONFIG_UC_TYPE="s3", RCLONE_CONFIG_UC_PROVIDER="Other",
               RCLONE_CONFIG_UC_ACCESS_KEY_ID="AK1", RCLONE_CONFIG_UC_SECRET_ACCESS_KEY="SECRET1",
               RCLONE_CONFIG_UC_ENDPOINT=s3node.endpoint, RCLONE_CONFIG_UC_REGION="us-east-1",
               RCLONE_CONFIG=str(tmp_path / "rclone.conf"))
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    for i in range(5):
        (tree / "a" / f"f{i}").write_bytes(seeded_bytes(10 + i, 1000 * (i + 1)))
    (tree / "a" / "b" / "large").write_bytes(seeded_bytes(20, 30 << 20))  # rclone's multipart
    run(["rclone", "copy", str(tree), "uc:data/rc"], env)
    run(["rclone", "check", "--download", str(tree), "uc:data/rc"], env)
    back = tmp_path / "back"
    run(["rclone", "copy", "uc:data/rc", str(back)], env)
    run(["rclone", "check", "--download", str(tree), str(back)], env)
    assert (back / "a" / "b" / "large").read_bytes() == (tree / "a" / "b" / "large").read_bytes()


def test_anonymous_reads_and_virtual_hosted_style(tmp_path):
    n = S3Node(tmp_path, extra=["--s3-anonymous", "--s3-domain", "s3.test"])
    try:
        (n.data / "pub.txt").write_bytes(b"public")
        assert http_get(f"{n.endpoint}/data/pub.txt")[2] == b"public"
        status, _, body = http_get(f"{n.endpoint}/pub.txt", headers={"Host": f"data.s3.test:{n.s3_port}"})
        assert status == 200 and body == b"public"
        listing = http_get(f"{n.endpoint}/?list-type=2", headers={"Host": "data.s3.test"})[2]
        assert b"<Key>pub.txt</Key>" in listing
        req = urllib.request.Request(f"{n.endpoint}/data/new.txt", data=b"x", method="PUT")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 403 and b"AccessDenied" in e.value.read()
        assert not (n.data / "new.txt").exists()
        assert metric(n.node.metrics(), 'unicache_requests_total{frontend="s3",code="200"}') >= 3
    finally:
        n.node.stop()


def test_bad_keys_file_is_refused_at_start(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("AK1 SECRET1 *\n")
    keys.chmod(0o644)
    (tmp_path / "d").mkdir()
    r = subprocess.run([os.environ.get("UNICACHE_BIN", "unicache"), "serve", "--origin", f"d={tmp_path / 'd'}",
                        "--cache-dir", str(tmp_path / "c"), "--listen", f"127.0.0.1:{free_port()}",
                        "--s3-listen", f"127.0.0.1:{free_port()}", "--s3-keys", str(keys)],
                       capture_output=True, timeout=30)
    assert r.returncode != 0 and b"chmod 600" in r.stderr


def test_cloud_origins_through_the_s3_endpoint(tmp_path, monkeypatch):
    """Buckets backed by an S3 store (s3rver) and an Azure container (Azurite): writes, a multipart
    upload, a copy across them and deletes go through to the stores."""
    reason = cs.missing_binaries()
    if reason:
        pytest.skip(reason)
    az = cs.start_azurite(str(tmp_path))
    s3srv = cs.start_s3rver(str(tmp_path))
    node = None
    try:
        session = requests.Session()
        cs.azure_create_container(session, az.port, "ctr")
        direct = cs.s3_client(s3srv.port)
        direct.create_bucket(Bucket="bkt")
        for k, v in {**cs.s3_env(), **cs.azure_env(az.port)}.items():
            monkeypatch.setenv(k, v)
        keys = tmp_path / "keys"
        keys.write_text(KEYS)
        keys.chmod(0o600)
        s3_port = free_port()
        node = NodeProcess(["--origin", "s3b=" + cs.s3_origin_uri("bkt", s3srv.port),
                            "--origin", "az=" + cs.azure_origin_uri("ctr", az.port)],
                           str(tmp_path / "cache"),
                           ["--s3-listen", f"127.0.0.1:{s3_port}", "--s3-keys", str(keys)]).start()
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", aws_access_key_id="AK1",
                          aws_secret_access_key="SECRET1", region_name="us-east-1")
        body = seeded_bytes(30, 1 << 20)
        s3.put_object(Bucket="s3b", Key="p/one.bin", Body=body)
        assert direct.get_object(Bucket="bkt", Key="p/one.bin")["Body"].read() == body
        s3.put_object(Bucket="az", Key="p/one.bin", Body=body)
        assert cs.azure_get_blob(session, az.port, "ctr", "p/one.bin").content == body
        for bucket in ("s3b", "az"):
            up = s3.create_multipart_upload(Bucket=bucket, Key="mp.bin")["UploadId"]
            p1, p2 = seeded_bytes(31, 5 << 20), seeded_bytes(32, 1000)
            e1 = s3.upload_part(Bucket=bucket, Key="mp.bin", UploadId=up, PartNumber=1, Body=p1)["ETag"]
            e2 = s3.upload_part(Bucket=bucket, Key="mp.bin", UploadId=up, PartNumber=2, Body=p2)["ETag"]
            s3.complete_multipart_upload(Bucket=bucket, Key="mp.bin", UploadId=up, MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
            assert s3.get_object(Bucket=bucket, Key="mp.bin")["Body"].read() == p1 + p2
            assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["mp.bin", "p/one.bin"]
        assert direct.get_object(Bucket="bkt", Key="mp.bin")["Body"].read() == p1 + p2
        s3.copy_object(Bucket="az", Key="copied.bin", CopySource={"Bucket": "s3b", "Key": "p/one.bin"})
        assert cs.azure_get_blob(session, az.port, "ctr", "copied.bin").content == body
        for bucket in ("s3b", "az"):
            s3.delete_object(Bucket=bucket, Key="p/one.bin")
            assert error_code(lambda: s3.head_object(Bucket=bucket, Key="p/one.bin"))[1] == 404
        with pytest.raises(requests.HTTPError, match="404"):
            cs.azure_get_blob(session, az.port, "ctr", "p/one.bin")
        assert "Contents" not in direct.list_objects_v2(Bucket="bkt", Prefix="p/")
    finally:
        if node:
            node.stop()
        az.stop()
        s3srv.stop()


def test_cluster_any_node_serves_and_takes_parts(tmp_path):
    """Two nodes, each with an S3 endpoint: an object written through one is read through the
    other (its blocks from their owner), and one multipart upload takes its parts on both nodes
    and is completed on either."""
    data = tmp_path / "data"
    data.mkdir()
    keys = tmp_path / "keys"
    keys.write_text(KEYS)
    keys.chmod(0o600)
    ports = [free_port(), free_port()]
    peers = ",".join(f"127.0.0.1:{p}" for p in ports)
    s3_ports = [free_port(), free_port()]
    nodes = [NodeProcess(["--origin", f"data={data}"], str(tmp_path / f"cache{i}"),
                         ["--peers", peers, "--block-size", "1MiB", "--s3-listen",
                          f"127.0.0.1:{s3_ports[i]}", "--s3-keys", str(keys)], ports[i])
             for i in range(2)]
    try:
        for n in nodes:
            n.start()
        clients = [boto3.client("s3", endpoint_url=f"http://127.0.0.1:{p}", aws_access_key_id="AK1",
                                aws_secret_access_key="SECRET1", region_name="us-east-1") for p in s3_ports]
        body = seeded_bytes(40, 6 << 20)
        clients[0].put_object(Bucket="data", Key="x.bin", Body=body)
        assert clients[1].get_object(Bucket="data", Key="x.bin")["Body"].read() == body
        assert clients[1].get_object(Bucket="data", Key="x.bin", Range="bytes=3000000-3000099")["Body"].read() == \
            body[3000000:3000100]
        up = clients[0].create_multipart_upload(Bucket="data", Key="joined.bin")["UploadId"]
        parts = [seeded_bytes(41 + i, 5 << 20) for i in range(3)] + [b"end"]
        etags = [clients[i % 2].upload_part(Bucket="data", Key="joined.bin", UploadId=up, PartNumber=i + 1,
                                            Body=p)["ETag"] for i, p in enumerate(parts)]
        listed = clients[1].list_parts(Bucket="data", Key="joined.bin", UploadId=up)["Parts"]
        assert [p["ETag"] for p in listed] == etags
        clients[1].complete_multipart_upload(Bucket="data", Key="joined.bin", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
        whole = b"".join(parts)
        for c in clients:
            assert hashlib.sha256(c.get_object(Bucket="data", Key="joined.bin")["Body"].read()).digest() == \
                hashlib.sha256(whole).digest()
    finally:
        for n in nodes:
            n.stop()

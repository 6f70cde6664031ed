"""Real cloud-storage emulators on 127.0.0.1 for the tests and benchmarks of the cloud origins.

  Azurite  Microsoft's Azure Storage emulator (Blob service)
  s3rver   a small S3-compatible server

Both are installed into .tools/node by scripts/install-test-servers.sh. Also here: a compact Azure
Shared Key signer (Put Blob, Create Container, Get Blob) so the data set is written and read with a
real client that is independent of unicache's own C++ signer.
"""
import base64
import contextlib
import datetime
import hashlib
import hmac
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE_BIN = os.path.join(os.environ.get("UNICACHE_TOOLS_NODE", os.path.join(ROOT, ".tools", "node")),
                        "node_modules", ".bin")
AZURITE = os.path.join(NODE_BIN, "azurite-blob")
S3RVER = os.path.join(NODE_BIN, "s3rver")

# Azurite's well-known development account (public, documented by Microsoft).
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
             "KBHBeksoGMGw==")
# s3rver's built-in key pair.
S3_KEY_ID = "S3RVER"
S3_SECRET = "S3RVER"


def missing_binaries():
    """Returns a reason string when the emulators are not installed, else None."""
    absent = [p for p in (AZURITE, S3RVER) if not os.access(p, os.X_OK)]
    if absent:
        return ("cloud emulators not installed (run scripts/install-test-servers.sh): missing " +
                ", ".join(os.path.basename(p) for p in absent))
    return None


def free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Server:
    """A Node.js emulator in its own process group; stop() sends SIGTERM twice (Azurite waits for
    open connections after the first), then SIGKILL."""

    def __init__(self, args, port, log_path, env=None):
        self.port = port
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        try:
            wait_port(port)
        except RuntimeError:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 1), (signal.SIGTERM, 5), (signal.SIGKILL, 10)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.log.close()


def start_azurite(workdir):
    port = free_port()
    loc = tempfile.mkdtemp(prefix="azurite-", dir=workdir)
    return Server([AZURITE, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", loc,
                   "--skipApiVersionCheck", "--loose", "--silent"], port,
                  os.path.join(workdir, "azurite.log"))


def start_s3rver(workdir):
    port = free_port()
    loc = tempfile.mkdtemp(prefix="s3rver-", dir=workdir)
    env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
    return Server([S3RVER, "--address", "127.0.0.1", "--port", str(port), "--directory", loc,
                   "--silent"], port, os.path.join(workdir, "s3rver.log"), env=env)


# ---- S3 (boto3) ----

def s3_client(port):
    import boto3
    from botocore.config import Config
    cfg = dict(s3={"addressing_style": "path"}, retries={"max_attempts": 3})
    # Newer botocore sends streaming CRC trailers by default, which s3rver does not understand.
    try:
        conf = Config(request_checksum_calculation="when_required",
                      response_checksum_validation="when_required", **cfg)
    except TypeError:
        conf = Config(**cfg)
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET, config=conf)


def s3_env():
    return {"AWS_ACCESS_KEY_ID": S3_KEY_ID, "AWS_SECRET_ACCESS_KEY": S3_SECRET}


def s3_origin_uri(bucket, port):
    return f"s3://{bucket}?endpoint=http://127.0.0.1:{port}&region=us-east-1&style=path"


# ---- Azure Blob (Shared Key signer, requests) ----

AZURE_API_VERSION = "2021-08-06"


def azure_endpoint(port):
    return f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}"


def azure_env(port, key=AZURE_KEY):
    return {"AZURE_STORAGE_CONNECTION_STRING":
            f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={key};"
            f"BlobEndpoint={azure_endpoint(port)}"}


def azure_origin_uri(container, port):
    return f"azure://{AZURE_ACCOUNT}/{container}?endpoint={azure_endpoint(port)}"


def azure_headers(method, path, query=None, headers=None, body_len=0, key=AZURE_KEY):
    """Signs one request with Shared Key. `path` is the URL path after the account endpoint
    (e.g. "/container/blob", percent-encoded). Returns the headers to send."""
    h = {k.lower(): v for k, v in (headers or {}).items()}
    h["x-ms-date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    h["x-ms-version"] = AZURE_API_VERSION
    if method in ("PUT", "POST"):
        h.setdefault("content-type", "application/octet-stream")
    std = ["content-encoding", "content-language", None, "content-md5", "content-type", "date",
           "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
    lines = [method]
    for name in std:
        lines.append((str(body_len) if body_len else "") if name is None else h.get(name, ""))
    lines += [f"{k}:{h[k].strip()}" for k in sorted(h) if k.startswith("x-ms-")]
    resource = f"/{AZURE_ACCOUNT}/{AZURE_ACCOUNT}{path}"  # Azurite: path-style account in the URL
    for k in sorted(query or {}):
        resource += f"\n{k.lower()}:{query[k]}"
    lines.append(resource)
    sig = base64.b64encode(hmac.new(base64.b64decode(key), "\n".join(lines).encode(),
                                    hashlib.sha256).digest()).decode()
    h["authorization"] = f"SharedKey {AZURE_ACCOUNT}:{sig}"
    return h


def azure_url(port, path, query=None):
    q = ("?" + urllib.parse.urlencode(query)) if query else ""
    return azure_endpoint(port) + path + q


def blob_path(container, name):
    return f"/{container}/" + urllib.parse.quote(name, safe="/")


def azure_create_container(session, port, container):
    q = {"restype": "container"}
    r = session.put(azure_url(port, f"/{container}", q), data=b"",
                    headers=azure_headers("PUT", f"/{container}", q))
    if r.status_code not in (201, 409):
        raise RuntimeError(f"create container: {r.status_code} {r.text}")


def azure_put_blob(session, port, container, name, data):
    path = blob_path(container, name)
    r = session.put(azure_url(port, path), data=data,
                    headers=azure_headers("PUT", path, headers={"x-ms-blob-type": "BlockBlob"},
                                          body_len=len(data)))
    if r.status_code != 201:
        raise RuntimeError(f"put blob {name}: {r.status_code} {r.text}")
    return r.headers.get("etag")


def azure_get_blob(session, port, container, name, stream=False):
    path = blob_path(container, name)
    r = session.get(azure_url(port, path), headers=azure_headers("GET", path), stream=stream)
    r.raise_for_status()
    return r

"""unicache KV cache client for Python (inference engines): plain HTTP/1.1 over http.client with
keep-alive, binary batch bodies (docs/KV.md), values as bytes / memoryview / numpy arrays, and
reads straight into caller buffers (readinto, no intermediate copy in Python).

    kv = KvClient("127.0.0.1:8470")
    kv.put("llama3", key, value)                 # key: bytes; value: bytes-like or numpy array
    n, lease = kv.prefix_match("llama3", keys, lease_ms=5000)
    bufs = kv.batch_get("llama3", keys[:n], lease=lease)

Any node answers for the whole cluster (it splits batches by owner). Not thread-safe: use one
client per thread. Fork-safe: a forked process (a DataLoader worker) never reuses the connection
its parent opened; it opens its own on its first request.
"""
import http.client
import json
import os
import struct

MAGIC = b"UKV1"
OK, NOT_FOUND, INVALID, QUOTA, UNAVAILABLE, INTERNAL = range(6)
STATUS_NAMES = ["ok", "not_found", "invalid_argument", "resource_exhausted", "unavailable",
                "internal"]
FOREVER = (1 << 64) - 1  # ttl_ms meaning "never expires"


class KvError(Exception):
    """A request failed: `status` is the HTTP status, `code` the unicache error code, `detail`
    what more it says ("quota_exceeded", "overloaded" or "")."""

    def __init__(self, status, code, message, detail=""):
        super().__init__(f"HTTP {status} {code}{'/' + detail if detail else ''}: {message}")
        self.status, self.code, self.message, self.detail = status, code, message, detail


def _view(value):
    """Returns a flat byte memoryview of bytes / bytearray / memoryview / numpy array."""
    if hasattr(value, "__array_interface__") and not isinstance(value, (bytes, bytearray)):
        import numpy as np
        value = np.ascontiguousarray(value).view(np.uint8).reshape(-1)
    return memoryview(value).cast("B")


def encode_keys(keys):
    parts = [MAGIC, struct.pack("<I", len(keys))]
    for k in keys:
        k = bytes(k)
        parts.append(struct.pack("<H", len(k)))
        parts.append(k)
    return b"".join(parts)


def encode_put_header(keys, views, ttls):
    parts = [MAGIC, struct.pack("<I", len(keys))]
    for k, v, t in zip(keys, views, ttls):
        k = bytes(k)
        parts.append(struct.pack("<HIQ", len(k), v.nbytes, t))
        parts.append(k)
    return b"".join(parts)


def _check_magic(body):
    if bytes(body[:4]) != MAGIC:
        raise KvError(0, "internal", "bad batch answer")


def decode_statuses(body):
    """A status list (batch-put and batch-exists answers): one status per key."""
    _check_magic(body)
    (n,) = struct.unpack_from("<I", body, 4)
    if len(body) < 8 + n:
        raise KvError(0, "internal", "truncated batch answer")
    return list(body[8:8 + n])


def get_head_size(count):
    return 8 + 5 * count


def decode_get_head(head):
    """The head of a batch-get answer: [(status, value length)] per key; the values follow."""
    _check_magic(head)
    (n,) = struct.unpack_from("<I", head, 4)
    if len(head) < get_head_size(n):
        raise KvError(0, "internal", "truncated batch answer")
    return [struct.unpack_from("<BI", head, 8 + 5 * i) for i in range(n)]


def decode_prefix_answer(body):
    """A prefix-match answer: (matched keys, lease id or None)."""
    _check_magic(body)
    n, ll = struct.unpack_from("<IH", body, 4)
    return n, bytes(body[10:10 + ll]).decode() or None


class KvClient:
    def __init__(self, nodes="127.0.0.1:8470", timeout=60):
        self.nodes = [n.strip() for n in nodes.split(",") if n.strip()]
        self.timeout = timeout
        self._conn = None
        self._pid = os.getpid()
        self._node = 0

    # ---- transport ----
    def _connection(self):
        if self._pid != os.getpid():
            # A forked child: the connection is the parent's. Two processes reading one socket
            # would take each other's answers; drop it (the parent keeps it open) and dial anew.
            self._conn, self._pid = None, os.getpid()
        if self._conn is None:
            host, port = self.nodes[self._node % len(self.nodes)].rsplit(":", 1)
            self._conn = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
        return self._conn

    def _request(self, method, path, body=None, headers=None):
        """Returns the open response (caller reads it). Retries once on a stale connection, then
        moves to the next node."""
        last = None
        for attempt in range(2 * len(self.nodes)):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers or {})
                return conn.getresponse()
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                last = e
                conn.close()
                self._conn = None
                if attempt % 2 == 1:
                    self._node += 1
        raise KvError(0, "unavailable", f"no node reachable: {last}")

    @staticmethod
    def _fail(resp):
        body = resp.read()
        try:
            j = json.loads(body)
            raise KvError(resp.status, j.get("code", ""), j.get("error", ""), j.get("detail", ""))
        except ValueError:
            raise KvError(resp.status, "", body.decode(errors="replace"))

    # ---- single values ----
    def put(self, ns, key, value, ttl=None):
        """Publishes `value` under `key`. ttl: seconds (float) or None for the namespace default.
        Returns True when created, False when the key already held a value (kept)."""
        path = f"/v1/kv/{ns}/{bytes(key).hex()}"
        if ttl is not None:
            path += f"?ttl={int(ttl * 1000)}ms" if ttl != float("inf") else "?ttl=forever"
        resp = self._request("PUT", path, body=_view(value))
        if resp.status not in (200, 201):
            self._fail(resp)
        resp.read()
        return resp.status == 201

    def get(self, ns, key, out=None, lease=None):
        """Returns the value as bytes (or None on a miss). With `out` (a writable buffer or numpy
        array), reads into it and returns the length."""
        path = f"/v1/kv/{ns}/{bytes(key).hex()}" + (f"?lease={lease}" if lease else "")
        resp = self._request("GET", path)
        if resp.status == 404:
            resp.read()
            return None
        if resp.status != 200:
            self._fail(resp)
        if resp.getheader("X-Unicache-Key") != bytes(key).hex():
            # Not the answer to this request: never data. The connection is not trusted again.
            self._conn.close()
            self._conn = None
            raise KvError(0, "unavailable", f"the answer is not the value of key {bytes(key).hex()}")
        if out is None:
            return resp.read()
        n = int(resp.getheader("Content-Length"))
        mv = _view(out)
        if n > mv.nbytes:
            resp.read()
            raise KvError(0, "invalid_argument", f"value of {n} bytes > buffer of {mv.nbytes}")
        _readinto(resp, mv[:n])
        return n

    def delete(self, ns, key):
        resp = self._request("DELETE", f"/v1/kv/{ns}/{bytes(key).hex()}")
        resp.read()
        if resp.status not in (200, 404):
            raise KvError(resp.status, "", "delete failed")
        return resp.status == 200

    # ---- batches ----
    def batch_put(self, ns, keys, values, ttl_ms=0):
        """Publishes values[i] under keys[i] in one request; returns per-key statuses (0 = ok)."""
        views = [_view(v) for v in values]
        ttls = ttl_ms if isinstance(ttl_ms, (list, tuple)) else [ttl_ms] * len(keys)
        head = encode_put_header(keys, views, ttls)
        length = len(head) + sum(v.nbytes for v in views)
        resp = self._request("POST", f"/v1/kv/{ns}/batch-put", body=iter([head, *views]),
                             headers={"Content-Length": str(length)})
        if resp.status != 200:
            self._fail(resp)
        return decode_statuses(resp.read())

    def batch_get(self, ns, keys, outs=None, lease=None):
        """Returns a list of bytes (None for a miss) in key order. With `outs` (one writable
        buffer per key), reads each value straight into its buffer and returns the lengths
        (-1 for a miss)."""
        path = f"/v1/kv/{ns}/batch-get" + (f"?lease={lease}" if lease else "")
        resp = self._request("POST", path, body=encode_keys(keys))
        if resp.status != 200:
            self._fail(resp)
        entries = decode_get_head(resp.read(get_head_size(len(keys))))
        if len(entries) != len(keys):
            raise KvError(0, "internal", f"{len(entries)} answers for {len(keys)} keys")
        result = []
        for i, (status, length) in enumerate(entries):
            if status != OK:
                result.append(None if outs is None else -1)
                continue
            if outs is None:
                result.append(resp.read(length))
            else:
                mv = _view(outs[i])
                if length > mv.nbytes:
                    resp.close()
                    self._conn = None
                    raise KvError(0, "invalid_argument", f"value {i} of {length} bytes > buffer")
                _readinto(resp, mv[:length])
                result.append(length)
        resp.read()
        return result

    def batch_exists(self, ns, keys):
        """Returns a list of booleans, one per key."""
        resp = self._request("POST", f"/v1/kv/{ns}/batch-exists", body=encode_keys(keys))
        if resp.status != 200:
            self._fail(resp)
        return [s == OK for s in decode_statuses(resp.read())]

    def prefix_match(self, ns, keys, lease_ms=0):
        """Returns (n, lease_id): how many leading keys are cached cluster-wide (stopping at the
        first miss), and with lease_ms > 0 a lease id that keeps them from eviction until
        released, read with lease=..., or expired."""
        path = f"/v1/kv/{ns}/prefix-match" + (f"?lease={int(lease_ms)}" if lease_ms else "")
        resp = self._request("POST", path, body=encode_keys(keys))
        if resp.status != 200:
            self._fail(resp)
        return decode_prefix_answer(resp.read())

    def release(self, ns, lease_id):
        resp = self._request("POST", f"/v1/kv/{ns}/release?lease={lease_id}")
        body = resp.read()
        if resp.status != 200:
            raise KvError(resp.status, "", body.decode(errors="replace"))
        return json.loads(body)["released"]

    def stats(self):
        resp = self._request("GET", "/v1/kv")
        if resp.status != 200:
            self._fail(resp)
        return json.loads(resp.read())

    def ls(self, ns, limit=1000):
        resp = self._request("GET", f"/v1/kv/{ns}?limit={limit}")
        if resp.status != 200:
            self._fail(resp)
        return [bytes.fromhex(k) for k in json.loads(resp.read())["keys"]]

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _readinto(resp, mv):
    got = 0
    while got < mv.nbytes:
        n = resp.readinto(mv[got:])
        if not n:
            raise KvError(0, "unavailable", "connection closed mid-value")
        got += n

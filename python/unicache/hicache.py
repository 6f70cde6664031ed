"""An adapter shaped like SGLang's HiCache storage interface (HiCacheStorage: get, batch_get, set,
batch_set, exists, batch_exists), backed by a unicache KV namespace.

    store = UnicacheHiCacheStore("127.0.0.1:8470", namespace="llama3")
    n = store.batch_exists(page_hashes)          # leading pages present, stops at the first miss
    store.batch_get(page_hashes[:n], target_locations=host_buffers)   # straight into the pool
    store.batch_set(new_hashes, values)

On the same host as a node, pass `local_socket` (the node's --kv-socket) and `pool_bytes`: the
store then registers a shared-memory region of that size with the node, `host_pool()` is a numpy
view of it for the engine to keep its host KV pool in, and batch_get / batch_set whose buffers
all lie in that pool move no value bytes over a socket (docs/KV.md, "Shared-memory path").
Other buffers go over HTTP.

Keys are strings (SGLang passes page hashes as hex strings); they are stored as their UTF-8
bytes. Values are bytes-like objects or numpy arrays / host-memory tensors' numpy views; with
target_locations the values are read straight into those buffers. Not thread-safe: one per
thread (as SGLang's storage backends are used).
"""
from .kv import KvClient, OK
from .kv_local import LocalKvClient


def _k(key):
    return key.encode() if isinstance(key, str) else bytes(key)


def _np(buf):
    """Returns a writable buffer view: numpy arrays and torch CPU tensors (via .numpy())."""
    if hasattr(buf, "numpy") and not hasattr(buf, "__array_interface__"):
        return buf.numpy()
    return buf


class UnicacheHiCacheStore:
    def __init__(self, nodes="127.0.0.1:8470", namespace="default", ttl_ms=0,
                 local_socket=None, pool_bytes=0):
        self.client = KvClient(nodes)
        self.namespace = namespace
        self.ttl_ms = ttl_ms
        self.local = LocalKvClient(local_socket, pool_bytes) if local_socket else None

    def host_pool(self):
        """Returns the shared region as a numpy uint8 array (None without a local socket)."""
        return self.local.array() if self.local else None

    def _in_pool(self, bufs):
        if self.local is None:
            return False
        try:
            for b in bufs:
                self.local.offset_of(b)
        except (ValueError, TypeError):
            return False
        return True

    def get(self, key, target_location=None):
        if target_location is None:
            return self.client.get(self.namespace, _k(key))
        n = self.client.get(self.namespace, _k(key), out=_np(target_location))
        return None if n is None else target_location

    def batch_get(self, keys, target_locations=None):
        ks = [_k(k) for k in keys]
        if target_locations is None:
            return self.client.batch_get(self.namespace, ks)
        outs = [_np(t) for t in target_locations]
        if self._in_pool(outs):
            lens = self.local.batch_get(self.namespace, ks, outs)  # KvError: a buffer too small
            return [None if n < 0 else t for n, t in zip(lens, target_locations)]
        lens = self.client.batch_get(self.namespace, ks, outs=[_np(t) for t in target_locations])
        return [None if n < 0 else t for n, t in zip(lens, target_locations)]

    def set(self, key, value, target_location=None):
        return self.batch_set([key], [value if value is not None else target_location])

    def batch_set(self, keys, values=None, target_locations=None):
        vals = [_np(v) for v in (values if values is not None else target_locations)]
        ks = [_k(k) for k in keys]
        if self._in_pool(vals):
            statuses = self.local.batch_put(self.namespace, ks, vals, self.ttl_ms)
        else:
            statuses = self.client.batch_put(self.namespace, ks, vals, self.ttl_ms)
        return all(s == OK for s in statuses)

    def exists(self, key):
        return self.client.batch_exists(self.namespace, [_k(key)])[0]

    def batch_exists(self, keys):
        """Returns how many keys in a row, from the first, exist (SGLang's contract)."""
        return self.client.prefix_match(self.namespace, [_k(k) for k in keys])[0]

    def delete(self, key):
        return self.client.delete(self.namespace, _k(key))

    def close(self):
        self.client.close()
        if self.local is not None:
            self.local.close()

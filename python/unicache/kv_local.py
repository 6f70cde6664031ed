"""The KV cache's shared-memory path for Python clients on the same host as a node (docs/KV.md,
"Shared-memory path"). The client creates a memfd sealed against shrinking, maps it, and hands
its descriptor to the node once over the node's Unix socket (--kv-socket, by default
CACHE_DIR/kv.sock). After that only small descriptors cross the socket: the node copies values
straight into the region (gets) and out of it (puts).

    kv = LocalKvClient("/var/cache/unicache/kv.sock", segment_bytes=1 << 30)
    pool = kv.array()                        # numpy uint8 view of the whole region
    pool[:n] = ...                           # the engine's KV bytes, written in place
    kv.batch_put("llama3", keys, [pool[0:n], pool[n:2 * n]])
    sizes = kv.batch_get("llama3", keys, [pool[a:b], pool[c:d]])   # -1 = miss
    matched, lease = kv.prefix_match("llama3", keys, lease_ms=5000)

Buffers passed to put/get must lie inside the region (kv.buffer or views of kv.array()). Any
node answers for the whole cluster: keys owned elsewhere are fetched from their owners. Not
thread-safe: one client per thread. Fork-safe: a forked child dials the node again on its first
call and registers the same region, which parent and child then share (it is MAP_SHARED): give
each process its own part of it.
"""
import ctypes
import fcntl
import mmap
import os
import socket
import struct

from .kv import KvError, OK, QUOTA, NOT_FOUND, STATUS_NAMES, FOREVER  # noqa: F401

REGISTER, GET, EXISTS, PUT, PREFIX_MATCH, RELEASE = range(1, 7)
CODE_NAMES = ["ok", "invalid_argument", "not_found", "already_exists", "permission_denied",
              "out_of_range", "precondition_failed", "resource_exhausted", "unavailable",
              "deadline_exceeded", "checksum_mismatch", "unimplemented", "internal"]


def _str16(b):
    b = b.encode() if isinstance(b, str) else bytes(b)
    return struct.pack("<H", len(b)) + b


def encode_request(op, ns="", items=(), lease="", lease_ms=0, segment_bytes=0):
    """A request payload (without its u32 frame length). `items` are (key, offset, length,
    ttl_ms) tuples; each op takes the fields docs/KV.md gives it."""
    if op == REGISTER:
        return struct.pack("<BQ", REGISTER, segment_bytes)
    if op == RELEASE:
        return struct.pack("<B", RELEASE) + _str16(ns) + _str16(lease)
    parts = [struct.pack("<B", op), _str16(ns)]
    if op == GET:
        parts.append(_str16(lease))
    if op == PREFIX_MATCH:
        parts.append(struct.pack("<Q", lease_ms))
    parts.append(struct.pack("<I", len(items)))
    for key, offset, length, ttl_ms in items:
        parts.append(_str16(key))
        if op == GET:
            parts.append(struct.pack("<QQ", offset, length))
        elif op == PUT:
            parts.append(struct.pack("<QQQ", offset, length, ttl_ms))
    return b"".join(parts)


def decode_answer(op, payload):
    """An answer payload: raises KvError for an error; else, by op, [(status, length)] (get),
    [status] (exists, put), (matched, lease id or None) (prefix match), a bool (release), None
    (register)."""
    code, mlen = struct.unpack_from("<BH", payload)
    if code != 0:
        name = CODE_NAMES[code] if code < len(CODE_NAMES) else str(code)
        raise KvError(0, name, bytes(payload[3:3 + mlen]).decode(errors="replace"))
    body = payload[3 + mlen:]
    if op == REGISTER:
        return None
    if op == RELEASE:
        return body[0] == 1
    if op == PREFIX_MATCH:
        matched, llen = struct.unpack_from("<QH", body)
        return matched, (bytes(body[10:10 + llen]).decode() or None)
    (count,) = struct.unpack_from("<I", body)
    if op == GET:
        return [struct.unpack_from("<BQ", body, 4 + 9 * i) for i in range(count)]
    return list(body[4:4 + count])


class LocalKvClient:
    def __init__(self, socket_path, segment_bytes, timeout=60):
        if segment_bytes <= 0:
            raise ValueError("segment_bytes must be > 0")
        self._fd = os.memfd_create("unicache-kv", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(self._fd, segment_bytes)
        fcntl.fcntl(self._fd, fcntl.F_ADD_SEALS,
                    fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        self._mm = mmap.mmap(self._fd, segment_bytes)
        self.buffer = memoryview(self._mm)
        self.size = segment_bytes
        self._base = ctypes.addressof(ctypes.c_char.from_buffer(self._mm))
        self._socket_path, self._timeout = socket_path, timeout
        self._sock = None
        try:
            self._register()
        except KvError:
            self.close()
            raise

    def _register(self):
        """Connects to the node's socket and registers the region; remembers this process."""
        self._pid = os.getpid()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(self._timeout)
        try:
            self._sock.connect(self._socket_path)
        except OSError as e:
            raise KvError(0, "unavailable", f"no unicache node listens on KV socket "
                          f"{self._socket_path} ({e.strerror}); is the node started with "
                          f"--kv-namespace?") from None
        payload = encode_request(REGISTER, segment_bytes=self.size)
        socket.send_fds(self._sock, [struct.pack("<I", len(payload)) + payload], [self._fd])
        self._answer(REGISTER)

    def array(self):
        """Returns a numpy uint8 array over the whole region (writable, shared with the node)."""
        import numpy as np
        return np.frombuffer(self._mm, dtype=np.uint8)

    def offset_of(self, buf):
        """Returns (offset, length) of a buffer inside the region; ValueError if it is not."""
        if hasattr(buf, "__array_interface__"):
            addr = buf.__array_interface__["data"][0]
            n = buf.nbytes
            if not buf.flags["C_CONTIGUOUS"]:
                raise ValueError("buffer must be contiguous")
        else:
            mv = memoryview(buf).cast("B")
            n = mv.nbytes
            if mv.readonly:
                raise ValueError("buffer must be a writable view of the region")
            addr = ctypes.addressof(ctypes.c_char.from_buffer(mv))
        off = addr - self._base
        if off < 0 or off + n > self.size:
            raise ValueError("buffer is not inside the registered region (use kv.array() views)")
        return off, n

    # -- requests ---------------------------------------------------------------------------

    def _call(self, op, **fields):
        return self._exchange(op, encode_request(op, **fields))

    def _exchange(self, op, payload):
        """Sends one request payload and returns its decoded answer (decode_answer)."""
        if self._pid != os.getpid():
            # A forked child shares the parent's socket: answers would go to whichever process
            # reads first. Dial the node again and register the (shared) region on the new socket.
            self._sock.close()  # our copy only: the parent's connection stays up
            self._register()
        self._sock.sendall(struct.pack("<I", len(payload)) + payload)
        return self._answer(op)

    def _recv(self, n):
        out = bytearray(n)
        view = memoryview(out)
        got = 0
        while got < n:
            k = self._sock.recv_into(view[got:])
            if k == 0:
                raise KvError(0, "unavailable", "the node closed the KV socket")
            got += k
        return bytes(out)

    def _answer(self, op):
        (n,) = struct.unpack("<I", self._recv(4))
        return decode_answer(op, self._recv(n))

    def batch_put(self, ns, keys, values, ttl_ms=0):
        """Publishes values (buffers inside the region); returns one status per key (OK = 0)."""
        items = [(k, *self.offset_of(v), ttl_ms) for k, v in zip(keys, values)]
        return self._call(PUT, ns=ns, items=items)

    def put(self, ns, key, value, ttl_ms=0):
        st = self.batch_put(ns, [key], [value], ttl_ms)[0]
        if st != OK:
            raise KvError(0, STATUS_NAMES[st], "put failed")

    def batch_get(self, ns, keys, outs, lease=None):
        """Reads values straight into `outs` (buffers inside the region); returns their sizes,
        -1 for a miss. A buffer too small raises KvError (resource_exhausted) with the size."""
        items = [(k, *self.offset_of(o), 0) for k, o in zip(keys, outs)]
        out = []
        for st, length in self._call(GET, ns=ns, items=items, lease=lease or ""):
            if st == QUOTA:
                raise KvError(0, "resource_exhausted", f"buffer too small for a value of {length}")
            if st not in (OK, NOT_FOUND):
                raise KvError(0, STATUS_NAMES[st], "get failed")
            out.append(length if st == OK else -1)
        return out

    def get(self, ns, key, out, lease=None):
        n = self.batch_get(ns, [key], [out], lease)[0]
        return None if n < 0 else n

    def batch_exists(self, ns, keys):
        items = [(k, 0, 0, 0) for k in keys]
        return [s == OK for s in self._call(EXISTS, ns=ns, items=items)]

    def prefix_match(self, ns, keys, lease_ms=0):
        """Returns (leading keys present cluster-wide, lease id or None)."""
        items = [(k, 0, 0, 0) for k in keys]
        return self._call(PREFIX_MATCH, ns=ns, items=items, lease_ms=lease_ms)

    def release(self, ns, lease_id):
        return self._call(RELEASE, ns=ns, lease=lease_id)

    def close(self):
        if getattr(self, "_sock", None) is not None:
            self._sock.close()
            self._sock = None
        if getattr(self, "buffer", None) is not None:
            self.buffer.release()
            self.buffer = None
        if getattr(self, "_mm", None) is not None:
            try:
                self._mm.close()
            except BufferError:
                pass  # numpy views still alive: the mapping goes with them
            self._mm = None
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

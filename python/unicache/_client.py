"""ctypes bindings of include/unicache/unicache.h and the Pythonic Client on top."""
import ctypes
import glob
import io
import json
import os
import threading
from dataclasses import dataclass

_CODES = ["ok", "invalid_argument", "not_found", "already_exists", "permission_denied",
          "out_of_range", "precondition_failed", "resource_exhausted", "unavailable",
          "deadline_exceeded", "checksum_mismatch", "unimplemented", "internal"]


class UnicacheError(OSError):
    """A failed call; `code` is the uc_code name, e.g. "not_found" or "unavailable"."""

    def __init__(self, code, message):
        self.code = _CODES[code] if 0 <= code < len(_CODES) else str(code)
        super().__init__(f"{self.code}: {message}")


class _Stat(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint64), ("mtime_ms", ctypes.c_int64),
                ("version", ctypes.c_char * 256)]


@dataclass(frozen=True)
class ObjectStat:
    path: str
    size: int
    version: str
    mtime_ms: int


_lib = None
_lib_lock = threading.Lock()


def _candidates():
    env = os.environ.get("UNICACHE_LIB")
    if env:
        yield env
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    yield os.path.join(root, "build", "src", "client", "libunicache.so")
    yield from sorted(glob.glob(os.path.join(root, "build*", "src", "client", "libunicache.so")))


def load_library():
    """Loads libunicache.so once and declares the C signatures; returns the ctypes handle."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = next((p for p in _candidates() if os.path.exists(p)), None)
        if path is None:
            raise UnicacheError(2, "libunicache.so not found: set UNICACHE_LIB or build unicache_c")
        lib = ctypes.CDLL(path)
        P, c = ctypes.POINTER, ctypes
        sig = {
            "uc_last_error_message": (c.c_char_p, []),
            "uc_connect": (c.c_int, [c.c_char_p, P(c.c_void_p)]),
            "uc_close": (None, [c.c_void_p]),
            "uc_stat": (c.c_int, [c.c_void_p, c.c_char_p, c.c_char_p, P(_Stat)]),
            "uc_read": (c.c_int, [c.c_void_p, c.c_char_p, c.c_char_p, c.c_char_p, c.c_uint64,
                                  c.c_void_p, c.c_size_t, P(c.c_size_t)]),
            "uc_write": (c.c_int, [c.c_void_p, c.c_char_p, c.c_char_p, c.c_void_p, c.c_size_t,
                                   P(_Stat)]),
            "uc_list": (c.c_int, [c.c_void_p, c.c_char_p, c.c_char_p, c.c_char_p, c.c_char_p,
                                  c.c_size_t, P(c.c_void_p)]),
            "uc_free": (None, [c.c_void_p]),
            "uc_open": (c.c_int, [c.c_void_p, c.c_char_p, c.c_char_p, P(c.c_void_p)]),
            "uc_reader_stat": (P(_Stat), [c.c_void_p]),
            "uc_reader_read": (c.c_int, [c.c_void_p, c.c_uint64, c.c_void_p, c.c_size_t,
                                         P(c.c_size_t)]),
            "uc_reader_close": (None, [c.c_void_p]),
        }
        for name, (res, args) in sig.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        _lib = lib
        return lib


def _check(lib, code):
    if code != 0:
        raise UnicacheError(code, lib.uc_last_error_message().decode(errors="replace"))


def _b(s):
    return s.encode() if isinstance(s, str) else s


def _address(buf):
    """Returns (address, length in bytes) of a writable buffer (bytearray, memoryview, numpy)."""
    mv = memoryview(buf).cast("B")
    if mv.readonly:
        raise TypeError("buffer is read-only")
    if mv.nbytes == 0:
        return None, 0
    return ctypes.addressof(ctypes.c_char.from_buffer(mv)), mv.nbytes


class Reader(io.RawIOBase):
    """A read-only, seekable file of one object version with sequential readahead.
    Not thread-safe: one per thread."""

    def __init__(self, client, origin, path):
        super().__init__()
        self._lib = client._lib
        self._client = client  # keeps the client open while the reader lives
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.uc_open(client._handle, _b(origin), _b(path),
                                            ctypes.byref(handle)))
        self._handle = handle
        st = self._lib.uc_reader_stat(handle).contents
        self.stat = ObjectStat(path, st.size, st.version.decode(), st.mtime_ms)
        self._pos = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.stat.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buf):
        addr, length = _address(buf)
        if length == 0:
            return 0
        n = ctypes.c_size_t()
        _check(self._lib, self._lib.uc_reader_read(self._handle, self._pos, addr, length,
                                                   ctypes.byref(n)))
        self._pos += n.value
        return n.value

    def readall(self):
        out = bytearray(max(0, self.stat.size - self._pos))
        got = 0
        with memoryview(out) as view:
            while got < len(out):
                n = self.readinto(view[got:])
                if n == 0:
                    break
                got += n
        del out[got:]
        return bytes(out)  # io.RawIOBase.readall returns bytes

    def close(self):
        if getattr(self, "_handle", None):
            self._lib.uc_reader_close(self._handle)
            self._handle = None
        super().close()


class Client:
    """A connection to a unicache cluster; reads go straight to the owners of the blocks.
    Thread-safe: share one Client among threads."""

    def __init__(self, peers=None):
        """`peers`: "HOST:PORT[,...]", "etcd:http://HOST:PORT[/prefix]" or "dns:NAME[:PORT]";
        defaults to $UNICACHE_PEERS or 127.0.0.1:8470."""
        self._lib = load_library()
        target = peers or os.environ.get("UNICACHE_PEERS") or "127.0.0.1:8470"
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.uc_connect(_b(target), ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        if getattr(self, "_handle", None):
            self._lib.uc_close(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def stat(self, origin, path):
        """Returns the ObjectStat of origin/path (cached by the client for about a second)."""
        st = _Stat()
        _check(self._lib, self._lib.uc_stat(self._handle, _b(origin), _b(path), ctypes.byref(st)))
        return ObjectStat(path, st.size, st.version.decode(), st.mtime_ms)

    def readinto(self, origin, path, buf, offset=0, version=None):
        """Reads into `buf` (any writable buffer) at `offset`; returns the bytes read."""
        addr, length = _address(buf)
        if length == 0:
            return 0
        n = ctypes.c_size_t()
        _check(self._lib, self._lib.uc_read(self._handle, _b(origin), _b(path),
                                            _b(version) if version else None, offset, addr,
                                            length, ctypes.byref(n)))
        return n.value

    def read(self, origin, path, offset=0, length=None, version=None):
        """Returns up to `length` bytes at `offset` (to the end when length is None) as a
        bytearray: the buffer the bytes were read into, never copied (torch.frombuffer and
        numpy.frombuffer take it as is)."""
        if length is None:
            length = max(0, self.stat(origin, path).size - offset)
        buf = bytearray(length)
        n = self.readinto(origin, path, buf, offset, version)
        del buf[n:]  # in place: a short read at the end of the object is not copied either
        return buf

    def read_all(self, origin, path):
        """Returns the whole object, pinned to the version stat() saw, as a bytearray (the
        buffer it was read into, never copied)."""
        st = self.stat(origin, path)
        return self.read(origin, path, 0, st.size, st.version)

    def open(self, origin, path):
        """Returns a buffered, seekable binary file of origin/path with readahead."""
        return io.BufferedReader(Reader(self, origin, path), buffer_size=1 << 20)

    def write(self, origin, path, data):
        """Writes `data` (bytes-like) as the whole object; returns its new ObjectStat."""
        mv = memoryview(data).cast("B")
        src = (ctypes.c_char * mv.nbytes).from_buffer_copy(mv) if mv.readonly else \
            (ctypes.c_char * mv.nbytes).from_buffer(mv)
        st = _Stat()
        _check(self._lib, self._lib.uc_write(self._handle, _b(origin), _b(path), src, mv.nbytes,
                                             ctypes.byref(st)))
        return ObjectStat(path, st.size, st.version.decode(), st.mtime_ms)

    def list(self, origin, prefix="", delimiter="", recursive=True):
        """Yields dicts {path, size, version, mtime_ms, is_prefix} of origin/prefix, all pages.
        With recursive=False the listing stops at "/" (directories come as prefixes)."""
        if not recursive:
            delimiter = "/"
        token = b""
        while True:
            out = ctypes.c_void_p()
            _check(self._lib, self._lib.uc_list(self._handle, _b(origin), _b(prefix),
                                                _b(delimiter), token, 1000, ctypes.byref(out)))
            try:
                page = json.loads(ctypes.string_at(out.value).decode())
            finally:
                self._lib.uc_free(out)
            yield from page["entries"]
            if not page["next_token"]:
                return
            token = page["next_token"].encode()

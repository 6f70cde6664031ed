"""unicache: the Python client of the unicache cluster cache (ctypes over libunicache.so).

    import unicache
    c = unicache.Client("127.0.0.1:8470,127.0.0.1:8471")   # or "etcd:http://127.0.0.1:2379"
    st = c.stat("data", "train/shard-0000.bin")
    buf = c.read_all("data", "train/shard-0000.bin")
    with c.open("data", "ckpt/model.pt") as f:               # sequential readahead
        header = f.read(4096)

The shared library is found through $UNICACHE_LIB (a path to libunicache.so), else next to the
repository's build directories (build*/src/client/libunicache.so).
"""
from ._client import Client, ObjectStat, Reader, UnicacheError, load_library

__all__ = ["Client", "ObjectStat", "Reader", "UnicacheError", "load_library"]

"""The Python KV clients against the shared wire vectors (tests/kv_wire_vectors.json), which the
C++ codecs run too (src/kv/wire_vectors_test.cc): both encode every case to the same bytes and
decode the bytes back. No server needed."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../python"))
from unicache import kv, kv_local  # noqa: E402

VECTORS = json.load(open(os.path.join(os.path.dirname(__file__), "../kv_wire_vectors.json")))
OPS = {"register": kv_local.REGISTER, "get": kv_local.GET, "exists": kv_local.EXISTS,
       "put": kv_local.PUT, "prefix_match": kv_local.PREFIX_MATCH, "release": kv_local.RELEASE}


@pytest.mark.parametrize("v", VECTORS["batch"], ids=lambda v: v["name"])
def test_batch_bodies(v):
    wire = bytes.fromhex(v["hex"])
    kind = v["kind"]
    if kind == "key_list":
        assert kv.encode_keys([bytes.fromhex(k) for k in v["keys"]]) == wire
    elif kind == "put_header":
        items = v["items"]
        views = [memoryview(b"v" * i["value_len"]) for i in items]
        head = kv.encode_put_header([bytes.fromhex(i["key"]) for i in items], views,
                                    [i["ttl_ms"] for i in items])
        assert head == wire
    elif kind == "status_list":
        assert kv.decode_statuses(wire) == v["statuses"]
    elif kind == "get_head":
        assert kv.decode_get_head(wire) == list(zip(v["statuses"], v["lengths"]))
    elif kind == "prefix_answer":
        assert kv.decode_prefix_answer(wire) == (v["matched"], v["lease"] or None)
    else:
        pytest.fail(f"unknown kind {kind}")


@pytest.mark.parametrize("v", VECTORS["local_requests"], ids=lambda v: v["op"])
def test_shared_memory_requests(v):
    items = [(bytes.fromhex(i["key"]), i.get("offset", 0), i.get("length", 0), i.get("ttl_ms", 0))
             for i in v.get("items", [])]
    payload = kv_local.encode_request(OPS[v["op"]], ns=v.get("ns", ""), items=items,
                                      lease=v.get("lease", ""), lease_ms=v.get("lease_ms", 0),
                                      segment_bytes=v.get("segment_bytes", 0))
    assert payload == bytes.fromhex(v["hex"])


@pytest.mark.parametrize("v", VECTORS["local_answers"], ids=lambda v: v["op"] + str(v.get("code", 0)))
def test_shared_memory_answers(v):
    op, wire = OPS[v["op"]], bytes.fromhex(v["hex"])
    if v.get("code", 0) != 0:
        with pytest.raises(kv.KvError) as e:
            kv_local.decode_answer(op, wire)
        assert e.value.code == kv_local.CODE_NAMES[v["code"]] and e.value.message == v["message"]
        return
    got = kv_local.decode_answer(op, wire)
    want = {"register": None,
            "get": list(zip(v.get("statuses", []), v.get("lengths", []))),
            "exists": v.get("statuses"), "put": v.get("statuses"),
            "prefix_match": (v.get("matched"), v.get("lease") or None),
            "release": v.get("released")}[v["op"]]
    assert got == want

"""RFC 9110 on the object API, checked with real clients (requests, curl, aria2c where packaged):
conditional requests (304, 412, If-Range that falls back to the whole object) and ranges
(multipart/byteranges, unknown units ignored, invalid ranges rejected)."""
import os
import re
import subprocess
import time
from email.utils import formatdate

import pytest
import requests

from conftest import object_url, write_random

BS = 64 * 1024


@pytest.fixture
def origin(tmp_path):
    root = tmp_path / "origin"
    root.mkdir()
    return root


@pytest.fixture
def node(make_node, origin):
    # A short metadata TTL: the tests change objects at the origin and wait for the node to see it.
    return make_node(str(origin), extra=["--block-size", "64KiB", "--metadata-ttl", "1s"])


def http_date(seconds):
    return formatdate(seconds, usegmt=True)


def replace_object(path, size, seed):
    """Writes a new version of `path` with another mtime, as a new file renamed into place."""
    tmp = path.with_suffix(".new")
    data = write_random(tmp, size, seed=seed)
    st = os.stat(path)
    os.utime(tmp, (st.st_atime + 10, st.st_mtime + 10))
    os.replace(tmp, path)
    return data


def wait_for_version(url, old_etag):
    deadline = time.time() + 10
    while time.time() < deadline:
        etag = requests.head(url, timeout=30).headers["ETag"]
        if etag != old_etag:
            return etag
        time.sleep(0.2)
    raise AssertionError("the node never saw the new version")


def test_if_none_match_and_if_modified_since_answer_304(node, origin):
    data = write_random(origin / "a.bin", 3 * BS + 7, seed=1)
    url = object_url(node, "a.bin")
    r = requests.get(url, timeout=30)
    etag, last_modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert r.content == data
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'},
                    {"If-None-Match": "*"}, {"If-Modified-Since": last_modified},
                    {"If-Modified-Since": http_date(time.time() + 3600)}):
        for method in ("GET", "HEAD"):
            r = requests.request(method, url, headers=headers, timeout=30)
            assert r.status_code == 304, (method, headers)
            assert r.content == b""
            assert r.headers["ETag"] == etag and r.headers["Last-Modified"] == last_modified
            assert "Content-Length" not in r.headers
    # Not matching: the whole object. If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    for headers in ({"If-None-Match": '"other"'},
                    {"If-Modified-Since": http_date(os.stat(origin / "a.bin").st_mtime - 60)},
                    {"If-None-Match": '"other"', "If-Modified-Since": last_modified},
                    {"If-Modified-Since": "not a date"}):
        r = requests.get(url, headers=headers, timeout=30)
        assert r.status_code == 200 and r.content == data, headers
    # The keep-alive connection survives a 304 (no body follows it).
    with requests.Session() as s:
        assert s.get(url, headers={"If-None-Match": etag}, timeout=30).status_code == 304
        assert s.get(url, timeout=30).content == data


def test_if_unmodified_since_and_if_match_answer_412(node, origin):
    data = write_random(origin / "b.bin", 1000, seed=2)
    url = object_url(node, "b.bin")
    r = requests.get(url, timeout=30)
    etag, last_modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert requests.get(url, headers={"If-Unmodified-Since": last_modified},
                        timeout=30).content == data
    for headers in ({"If-Unmodified-Since": http_date(os.stat(origin / "b.bin").st_mtime - 60)},
                    {"If-Match": '"other"', "If-Unmodified-Since": last_modified},
                    {"If-Match": '"other"', "Range": "bytes=0-9"}):
        r = requests.get(url, headers=headers, timeout=30)
        assert r.status_code == 412, headers
        assert r.headers["ETag"] == etag
    # If-Match wins over If-Unmodified-Since.
    r = requests.get(url, headers={"If-Match": etag, "If-Unmodified-Since": http_date(0)}, timeout=30)
    assert r.status_code == 200 and r.content == data


def test_if_range_never_splices_two_versions(node, origin):
    path = origin / "c.bin"
    old = write_random(path, 4 * BS + 100, seed=3)
    url = object_url(node, "c.bin")
    r = requests.get(url, timeout=30)
    old_etag, old_date = r.headers["ETag"], r.headers["Last-Modified"]
    # The validator matches: the range applies.
    for validator in (old_etag, old_date):
        r = requests.get(url, headers={"Range": f"bytes={BS}-", "If-Range": validator}, timeout=30)
        assert r.status_code == 206 and r.content == old[BS:], validator
    new = replace_object(path, 4 * BS + 300, seed=4)
    new_etag = wait_for_version(url, old_etag)
    # A download resumed with the old validator gets the whole new version, never a splice.
    for validator in (old_etag, old_date, f"W/{new_etag}", "garbage"):
        r = requests.get(url, headers={"Range": f"bytes={BS}-", "If-Range": validator}, timeout=30)
        assert r.status_code == 200, validator
        assert r.content == new and r.headers["ETag"] == new_etag
    r = requests.get(url, headers={"Range": f"bytes={BS}-", "If-Range": new_etag}, timeout=30)
    assert r.status_code == 206 and r.content == new[BS:]


def parse_multipart(response):
    """Returns [(content_range, bytes)] of a multipart/byteranges response."""
    ctype = response.headers["Content-Type"]
    m = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", ctype)
    assert m, ctype
    delimiter = b"--" + m.group(1).encode()
    body = response.content
    assert int(response.headers["Content-Length"]) == len(body)
    assert body.endswith(delimiter + b"--\r\n")
    parts = []
    for chunk in body[: -len(delimiter + b"--\r\n")].split(delimiter)[1:]:
        head, _, payload = chunk.partition(b"\r\n\r\n")
        assert payload.endswith(b"\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().strip().split("\r\n"))
        assert headers["Content-Type"] == "application/octet-stream"
        parts.append((headers["Content-Range"], payload[:-2]))
    return parts


def test_multiple_ranges_answer_multipart(node, origin):
    size = 5 * BS + 123
    data = write_random(origin / "m.bin", size, seed=5)
    url = object_url(node, "m.bin")
    for attempt in ("cold", "hot"):
        r = requests.get(url, headers={"Range": f"bytes=0-9,100-109,{BS - 5}-{BS + 4},-7"},
                         timeout=30)
        assert r.status_code == 206, attempt
        parts = parse_multipart(r)
        assert parts == [
            (f"bytes 0-9/{size}", data[0:10]),
            (f"bytes 100-109/{size}", data[100:110]),
            (f"bytes {BS - 5}-{BS + 4}/{size}", data[BS - 5:BS + 5]),
            (f"bytes {size - 7}-{size - 1}/{size}", data[size - 7:]),
        ], attempt
    # Unsatisfiable ranges among satisfiable ones are left out; one left is a plain 206.
    r = requests.get(url, headers={"Range": f"bytes={size + 5}-,10-19"}, timeout=30)
    assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes 10-19/{size}"
    assert r.content == data[10:20]
    # HEAD states the multipart length without a body.
    h = requests.head(url, headers={"Range": "bytes=0-9,100-109"}, timeout=30)
    assert h.status_code == 206 and h.headers["Content-Type"].startswith("multipart/byteranges")
    # curl asks for several ranges the same way and gets the parts.
    out = subprocess.run(["curl", "-sS", "-r", "0-9,200-209", url], capture_output=True, check=True,
                         timeout=30).stdout
    assert data[0:10] in out and data[200:210] in out and b"multipart" not in out[:2]


def test_unknown_units_are_ignored_and_invalid_ranges_rejected(node, origin):
    data = write_random(origin / "u.bin", 2000, seed=6)
    url = object_url(node, "u.bin")
    for header in ("items=0-5", "pages=1-", "bytes 0-5"):
        r = requests.get(url, headers={"Range": header}, timeout=30)
        assert r.status_code == 200 and r.content == data, header
    for header in ("bytes=10-5", "bytes=abc", "bytes="):
        r = requests.get(url, headers={"Range": header}, timeout=30)
        assert r.status_code == 416 and r.headers["Content-Range"] == "bytes */2000", header


def test_curl_revalidates_and_resumes(node, origin, tmp_path):
    """curl's own conditional download (-z) and resume (-C -) against the node."""
    path = origin / "d.bin"
    data = write_random(path, 3 * BS + 11, seed=7)
    url = object_url(node, "d.bin")
    out = tmp_path / "d.bin"
    subprocess.run(["curl", "-sSf", "-o", str(out), url], check=True, timeout=30)
    os.utime(out, (time.time(), os.stat(path).st_mtime))
    # -z FILE: If-Modified-Since the file's mtime: 304, the file is left alone.
    code = subprocess.run(["curl", "-sS", "-o", str(tmp_path / "z.bin"), "-w", "%{http_code}",
                           "-z", str(out), url], capture_output=True, text=True, check=True,
                          timeout=30).stdout
    assert code == "304"
    # --etag-compare: If-None-Match from a saved ETag.
    etag_file = tmp_path / "etag"
    subprocess.run(["curl", "-sS", "-o", os.devnull, "--etag-save", str(etag_file), url],
                   check=True, timeout=30)
    code = subprocess.run(["curl", "-sS", "-o", os.devnull, "-w", "%{http_code}",
                           "--etag-compare", str(etag_file), url], capture_output=True, text=True,
                          check=True, timeout=30).stdout
    assert code == "304"
    # -C -: a half download resumed from where it stopped.
    part = tmp_path / "part.bin"
    part.write_bytes(data[:BS + 3])
    subprocess.run(["curl", "-sSf", "-C", "-", "-o", str(part), url], check=True, timeout=30)
    assert part.read_bytes() == data


def test_aria2c_segmented_download(node, origin, tmp_path):
    data = write_random(origin / "e.bin", 6 * BS + 5, seed=8)
    subprocess.run(["aria2c", "-q", "-x", "4", "-s", "4", "--min-split-size=1M", "-d", str(tmp_path),
                    "-o", "e.bin", object_url(node, "e.bin")], check=True, timeout=60)
    assert (tmp_path / "e.bin").read_bytes() == data

"""Helpers shared by the benchmark scripts: processes, ports, timing, medians, tables."""
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
UNICACHE = os.environ.get("UNICACHE_BIN", os.path.join(ROOT, "build", "tools", "unicache"))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_size(text):
    """Bytes in "512MiB", "1GiB", "256k", "4096" (units k, m, g with or without "iB"/"B")."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    return int(float(t[:-1]) * units[t[-1]]) if t and t[-1] in units else int(t)


def wait_http(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def make_file(path, size):
    """Writes `size` pseudo-random bytes (incompressible, fast to make)."""
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as f:
        left = size
        i = 0
        while left > 0:
            n = min(left, len(chunk))
            # Rotate the chunk so blocks differ.
            rot = (i * 4099) % len(chunk)
            f.write((chunk[rot:] + chunk[:rot])[:n])
            left -= n
            i += 1


def timed(cmd, **kw):
    """Runs cmd, returns seconds; raises on failure."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def curl_seconds(url):
    return timed(["curl", "-sf", "-o", "/dev/null", url])


class Proc:
    """A background server process, stopped on exit."""

    def __init__(self, args, log_path, env=None):
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def start_unicache(workdir, origin_dir, ram="2GiB", extra=(), name="data", cache=None):
    port = free_port()
    cache = cache or os.path.join(workdir, f"cache-{port}")
    p = Proc([UNICACHE, "serve", "--listen", f"127.0.0.1:{port}", "--origin", f"{name}={origin_dir}",
              "--cache-dir", cache, "--ram", ram, "--ssd", "8GiB", *extra],
             os.path.join(workdir, f"unicache-{port}.log"))
    wait_http(f"http://127.0.0.1:{port}/healthz")
    return p, port, cache


def start_nginx(workdir, root):
    """nginx serving `root` statically with sendfile (the HTTP baseline)."""
    port = free_port()
    prefix = os.path.join(workdir, f"nginx-{port}")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off;
worker_processes 2;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    p = Proc(["nginx", "-p", prefix, "-c", conf], os.path.join(prefix, "stdout.log"))
    time.sleep(0.5)  # nginx answers 403 for "/", so readiness is the first real request
    return p, port


def median(xs):
    return statistics.median(xs)


def table(rows, header):
    """Returns a markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)

"""nginx as a test origin: started on a free 127.0.0.1 port by the tests that use it, stopped
by pid."""
import os
import shutil
import subprocess
import time

from conftest import free_port, http_get, stop_process

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class Nginx:
    """nginx serving `root` on a free 127.0.0.1 port: / with ETags, /noetag/ without, /signed/
    only with ?token=s3cr3t, /nohead/ refusing HEAD."""

    def __init__(self, workdir, root, port=None):
        self.port = port or free_port()
        self.prefix = os.path.join(workdir, f"nginx-{self.port}")
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off;
worker_processes 1;
{"user root;" if os.geteuid() == 0 else ""}
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {self.prefix}/logs/access.log;
  client_body_temp_path {self.prefix}/body;
  proxy_temp_path {self.prefix}/proxy;
  fastcgi_temp_path {self.prefix}/fastcgi;
  uwsgi_temp_path {self.prefix}/uwsgi;
  scgi_temp_path {self.prefix}/scgi;
  server {{
    listen 127.0.0.1:{self.port};
    root {root};
    location /noetag/ {{ etag off; }}
    location /signed/ {{ if ($arg_token != "s3cr3t") {{ return 403; }} }}
    location /nohead/ {{ if ($request_method = HEAD) {{ return 405; }} }}
  }}
}}
""")
        self.log = open(os.path.join(self.prefix, "stdout.log"), "ab")
        self.proc = subprocess.Popen([NGINX, "-p", self.prefix, "-e", f"{self.prefix}/logs/error.log",
                                      "-c", conf], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + open(f"{self.prefix}/logs/error.log").read()[-2000:])
            try:
                if http_get(f"http://127.0.0.1:{self.port}/ready.txt", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}/{path}"

    def requests(self):
        with open(os.path.join(self.prefix, "logs/access.log")) as f:
            return sum(1 for line in f if "ready.txt" not in line)

    def stop(self):
        stop_process(self.proc, timeout=10)
        self.log.close()

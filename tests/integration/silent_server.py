"""A TCP server that accepts connections and never answers: a hung origin (or peer)."""
import socket
import threading


class SilentServer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with self.lock:
                self.conns.append(conn)  # held open, never read, never answered

    def accepted(self):
        with self.lock:
            return len(self.conns)

    def close(self):
        self.sock.close()
        with self.lock:
            for c in self.conns:
                c.close()
            self.conns.clear()

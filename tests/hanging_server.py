"""A server on 127.0.0.1 that accepts every connection and never answers: a Hub endpoint that hangs.

    with HangingServer() as server:
        os.environ["HF_ENDPOINT"] = server.url   # every Hub call now connects, then waits
"""

from __future__ import annotations

import socket
import threading


class HangingServer:
    """Accepts connections and holds them open without reading or writing; `close()` drops them all."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="hanging-server", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in [*self.connections, self._sock]:
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self) -> "HangingServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""A TCP relay on 127.0.0.1 that counts the bytes a client sends to a server, and can stop the
client at a given count: the benchmark's client-side byte count on servers that count nothing
(SeaweedFS), for the killed-upload row.

Every connection is relayed byte for byte (no HTTP parsing, keep-alive untouched), one thread
each way. :attr:`CountingProxy.sent` is what went from clients to the server so far. With
``stop_at`` set, the relay thread that crosses it forwards bytes only up to it, calls
``on_stop`` once (the benchmark's SIGKILL of the client) and closes every connection: the
client is stopped at that byte, as exactly as the relay can say.

>>> proxy = CountingProxy(("127.0.0.1", 9)).start(); proxy.url.startswith("http://127.0.0.1:")
True
>>> proxy.stop()
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

BUFFER = 1024 * 1024


class CountingProxy:
    """Relay ``127.0.0.1:<port>`` to ``upstream``, counting the bytes sent upstream."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.sent = 0
        self.stop_at: int | None = None
        self.on_stop: Callable[[], None] | None = None
        self.stopped = False  # True once ``stop_at`` was reached
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def reset(self, stop_at: int | None = None,
              on_stop: Callable[[], None] | None = None) -> None:
        """Count from 0 again; stop the clients (``on_stop``) once ``stop_at`` bytes went up."""
        with self._lock:
            self.sent, self.stop_at, self.on_stop, self.stopped = 0, stop_at, on_stop, False

    def stop(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._close_all()
        self._thread.join(5)

    def _close_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False),
                             daemon=True).start()

    def _pump(self, source: socket.socket, dest: socket.socket, upward: bool) -> None:
        buffer = bytearray(BUFFER)
        view = memoryview(buffer)
        try:
            while True:
                n = source.recv_into(buffer)
                if n == 0:
                    break
                if upward:
                    n, crossed = self._count(n)
                    dest.sendall(view[:n])
                    if crossed:
                        if self.on_stop is not None:
                            self.on_stop()
                        self._close_all()
                        return
                else:
                    dest.sendall(view[:n])
        except OSError:
            pass
        try:
            dest.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _count(self, n: int) -> tuple[int, bool]:
        """How many of ``n`` bytes may go up, and whether they reach ``stop_at``."""
        with self._lock:
            if self.stopped:
                return 0, False
            if self.stop_at is not None and self.sent + n >= self.stop_at:
                n, self.stopped = self.stop_at - self.sent, True
                self.sent = self.stop_at
                return n, True
            self.sent += n
            return n, False

"""A small threaded TCP proxy on 127.0.0.1 that injects network faults in front of the S3 server.

Tests point an :class:`~eoscatalog.store.S3Store` at ``proxy.url`` instead of the server and
switch faults on and off at run time. Every request is read up to the end of its head (request
line and headers), matched against the armed faults in order, and then either forwarded or
faulted. Each fault applies to the next ``count`` requests that match its method and path
pattern (a regular expression searched in ``path?query``), at most ``each`` of them per distinct
target if set (``each=1``: every object's first request), then it is spent::

    proxy.add(Fault("status", method="PUT", path=r"/blobs/", count=2))    # 503 SlowDown twice
    proxy.add(Fault("status", status=500, code="InternalError", count=1))
    proxy.add(Fault("reset", method="GET", after_bytes=65536))           # cut the response
    proxy.add(Fault("reset", side="request", after_bytes=4096))           # cut the upload
    proxy.add(Fault("stall", seconds=2.0))                                # never answer in time

Kinds:

``status``
    Answer with a raw S3 error (``<Error><Code>SlowDown</Code>...``) without forwarding: the
    server never sees the request. The request body is read and dropped first (unless the
    client waits for ``100 Continue``), so the client reads the answer, not a reset.
``reset``
    Forward the request, then reset the connection (RST) once ``after_bytes`` bytes of the
    response (``side="response"``: its head included, an interim ``100 Continue`` not) or of
    the request (``side="request"``, head included) went through. A cut request never reaches
    the server whole, so it is not applied; a cut response is one whose request the server did
    apply (a lost answer).
``stall``
    With ``after_bytes=None``: read and drop the request (after ``100 Continue`` if the client
    waits for it), answer nothing for ``seconds``, then reset; the server never sees it. With
    ``after_bytes=N``: forward, pass ``N`` bytes of the response, then go silent for
    ``seconds`` (a stream that stops mid-body) and reset.

Keep-alive is kept simple: every request gets its own connection to the server, and every
response goes back with ``Connection: close``, so a client never sends a second request on a
connection the proxy is about to close. :attr:`FaultProxy.log` records ``(method, target,
action)`` for every request and :attr:`FaultProxy.counts` how many times each action happened.
"""

from __future__ import annotations

import re
import select
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Fault", "FaultProxy"]

HEAD_LIMIT = 64 * 1024
BUFFER = 64 * 1024
_REASONS = {409: "Conflict", 500: "Internal Server Error", 503: "Slow Down"}
_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "ConditionalRequestConflict": "A conflicting operation occurred. Please try again.",
}


@dataclass
class Fault:
    """One armed fault: what to do to the next ``count`` requests that match."""

    kind: str  # "status", "reset" or "stall"
    method: str | None = None  # e.g. "PUT"; None matches every method
    path: str | None = None  # regex searched in "path?query"; None matches every target
    count: int = 1
    status: int = 503
    code: str = "SlowDown"
    after_bytes: int | None = None
    side: str = "response"  # which direction ``after_bytes`` counts, for "reset"
    seconds: float = 2.0  # how long a stall lasts
    each: int | None = None  # at most this many hits per distinct target (path and query)
    hits: int = 0  # how many requests this fault was applied to
    _per_target: Counter[str] = field(default_factory=Counter, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("status", "reset", "stall"):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.side not in ("request", "response"):
            raise ValueError(f"side must be 'request' or 'response', not {self.side!r}")
        if self.kind == "reset" and self.after_bytes is None:
            self.after_bytes = 0

    def matches(self, method: str, target: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or re.search(self.path, target) is not None))


@dataclass
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    raw_head: bytes
    rest: bytes  # bytes read past the head (the start of the body)


@dataclass
class FaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream`` (host, port), injecting armed faults."""

    upstream: tuple[str, int]
    log: list[tuple[str, str, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="faultproxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- control -------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in _serve
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            _close(s)
        self._thread.join(5)

    def add(self, fault: Fault) -> Fault:
        """Arm a fault (after those already armed); return it, to read ``hits`` later."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def pass_through(self) -> None:
        """Disarm every fault and forget what was seen."""
        with self._lock:
            self._faults.clear()
            self.log.clear()
            self.counts.clear()

    def seen(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests matching ``method`` and ``path`` (a regex) arrived, faulted or not."""
        probe = Fault("status", method=method, path=path)
        with self._lock:
            return sum(probe.matches(m, t) for m, t, _ in self.log)

    def _take(self, method: str, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (fault.count > 0 and fault.matches(method, target)
                        and (fault.each is None or fault._per_target[target] < fault.each)):
                    fault.count -= 1
                    fault.hits += 1
                    fault._per_target[target] += 1
                    action = fault.kind
                    break
            else:
                fault, action = None, "passed"
            self.log.append((method, target, action))
            self.counts[action] += 1
            return fault

    # -- serving -------------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _track(self, s: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.add(s)
        return s

    def _forget(self, *sockets: socket.socket | None) -> None:
        with self._lock:
            for s in sockets:
                self._sockets.discard(s)  # type: ignore[arg-type]

    def _handle(self, client: socket.socket) -> None:
        upstream = None
        self._track(client)
        try:
            request = _read_head(client)
            if request is None:
                return
            fault = self._take(request.method, request.target)
            if fault is not None and fault.kind == "status":
                self._answer(client, request, fault)
            elif fault is not None and fault.kind == "stall" and fault.after_bytes is None:
                if request.headers.get("expect", "").lower() == "100-continue":
                    # As a server would: take the body, then never answer.
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                self._stall(client, fault.seconds)
                _reset(client)
            else:
                upstream = self._track(socket.create_connection(self.upstream, timeout=30))
                self._forward(client, upstream, request, fault)
        except OSError:
            pass
        finally:
            _close(client)
            if upstream is not None:
                _close(upstream)
            self._forget(client, upstream)

    def _answer(self, client: socket.socket, request: _Request, fault: Fault) -> None:
        """A raw S3 error response, after dropping the body the client is sending."""
        waits = request.headers.get("expect", "").lower() == "100-continue"
        if not waits:
            _drain(client, int(request.headers.get("content-length", 0)) - len(request.rest))
        message = _MESSAGES.get(fault.code, "Injected fault.")
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{fault.code}</Code>'
                f"<Message>{message}</Message><RequestId>faultproxy</RequestId></Error>").encode()
        reason = _REASONS.get(fault.status, "Error")
        head = (f"HTTP/1.1 {fault.status} {reason}\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        client.sendall(head if request.method == "HEAD" else head + body)
        # A lingering close: unread bytes at close() would turn the FIN into a reset.
        client.shutdown(socket.SHUT_WR)
        _drain(client, None, timeout=1.0)

    def _stall(self, client: socket.socket, seconds: float) -> None:
        """Read and drop whatever the client sends for ``seconds``, answering nothing."""
        deadline = threading.Event()
        timer = threading.Timer(seconds, deadline.set)
        timer.start()
        try:
            while not deadline.is_set() and not self._stop.is_set():
                ready, _, _ = select.select([client], [], [], 0.05)
                if ready and not client.recv(BUFFER):
                    deadline.wait(max(0.0, seconds))  # the client hung up: just wait it out
                    return
        finally:
            timer.cancel()

    def _forward(self, client: socket.socket, upstream: socket.socket, request: _Request,
                 fault: Fault | None) -> None:
        cut_request = fault.after_bytes if fault and fault.side == "request" else None
        cut_response = (fault.after_bytes if fault and fault.side == "response"
                        and fault.after_bytes is not None else None)
        first = _with_header(request.raw_head, "Connection", "close") + request.rest
        if cut_request is not None and len(first) >= cut_request:
            upstream.sendall(first[:cut_request])
            _reset(upstream)
            _reset(client)
            return
        upstream.sendall(first)
        sent_up = len(first)
        done = threading.Event()

        def request_body() -> None:
            nonlocal sent_up
            try:
                while not done.is_set():
                    data = client.recv(BUFFER)
                    if not data:
                        return
                    if cut_request is not None and sent_up + len(data) >= cut_request:
                        upstream.sendall(data[: cut_request - sent_up])
                        done.set()
                        _reset(upstream)
                        _reset(client)
                        return
                    upstream.sendall(data)
                    sent_up += len(data)
            except OSError:
                return

        pump = threading.Thread(target=request_body, daemon=True)
        pump.start()
        sent_down = 0
        pending = b""
        head_done = False
        try:
            while not done.is_set():
                data = upstream.recv(BUFFER)
                if not data:
                    if pending:
                        client.sendall(pending)
                    break
                if not head_done:
                    pending += data
                    interim, data, pending, head_done = _rewrite_response_heads(pending)
                    if interim:
                        client.sendall(interim)  # 100 Continue: not part of the response
                    if not data:
                        continue
                if cut_response is not None and sent_down + len(data) >= cut_response:
                    client.sendall(data[: cut_response - sent_down])
                    if fault is not None and fault.kind == "stall":
                        self._stop.wait(fault.seconds)
                    _reset(client)
                    return
                client.sendall(data)
                sent_down += len(data)
            if not done.is_set():
                client.shutdown(socket.SHUT_WR)
                _drain(client, None, timeout=1.0)
        finally:
            done.set()
            _close(upstream)
            pump.join(2)


def _read_head(sock: socket.socket) -> _Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(BUFFER)
        if not chunk:
            return None
        data += chunk
        if len(data) > HEAD_LIMIT:
            return None
    raw_head, _, rest = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return _Request(method, target, headers, raw_head + b"\r\n\r\n", rest)


def _with_header(head: bytes, name: str, value: str) -> bytes:
    """``head`` (ending in a blank line) with header ``name`` replaced by ``name: value``."""
    lines = head[:-4].split(b"\r\n")
    kept = [line for line in lines[1:] if line.split(b":", 1)[0].strip().lower()
            != name.lower().encode()]
    return b"\r\n".join([lines[0], *kept, f"{name}: {value}".encode()]) + b"\r\n\r\n"


def _rewrite_response_heads(pending: bytes) -> tuple[bytes, bytes, bytes, bool]:
    """Split complete response heads off ``pending``; the final one gets ``Connection: close``.

    Returns (interim ``1xx`` heads such as ``100 Continue``, unchanged; the response's bytes
    to send; bytes still pending; whether the final head was seen).
    """
    interim = b""
    while b"\r\n\r\n" in pending:
        head, _, pending = pending.partition(b"\r\n\r\n")
        head += b"\r\n\r\n"
        status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b""
        if status.startswith(b"1"):
            interim += head
            continue
        return interim, _with_header(head, "Connection", "close") + pending, b"", True
    return interim, b"", pending, False


def _drain(sock: socket.socket, length: int | None, timeout: float = 5.0) -> None:
    """Read and drop ``length`` bytes (None: until the peer closes or ``timeout`` passes)."""
    sock.settimeout(timeout)
    try:
        while length is None or length > 0:
            data = sock.recv(BUFFER if length is None else min(BUFFER, length))
            if not data:
                return
            if length is not None:
                length -= len(data)
    except OSError:
        return


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN: the peer sees 'connection reset by peer'."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Wake a thread blocked in recv() on it: until that returns, close() sends nothing.
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass

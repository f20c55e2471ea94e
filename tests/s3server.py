"""A real S3-compatible HTTP server on 127.0.0.1 for the tests: moto's ThreadedMotoServer.

Two things are added around moto's WSGI app, both as a thin middleware:

* Conditional writes (``If-None-Match`` / ``If-Match``) are serialized per key. moto checks and
  then writes, so two parallel writers could both "win" a key; S3 guarantees one winner, and the
  race tests need that guarantee.
* Buckets whose name starts with ``nocond-`` behave like S3-compatible services that ignore
  conditional headers: the headers are dropped before moto sees them.

Every request is counted (method, path, query, bytes received) so tests can assert how many
requests or bytes an operation cost.
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

NO_CONDITIONAL_PREFIX = "nocond-"


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    received: int
    sent: int = 0  # response body bytes, counted as they are written
    range: str = ""  # the Range header of a GET


@dataclass
class RequestLog:
    records: list[RequestRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: RequestRecord) -> None:
        with self.lock:
            self.records.append(record)

    def clear(self) -> None:
        with self.lock:
            self.records.clear()

    def for_bucket(self, bucket: str) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.records if r.path.split("/")[1:2] == [bucket]]


def _counted(body: Iterable[bytes], record: RequestRecord) -> Iterator[bytes]:
    """Pass the response through, adding its length to ``record.sent``."""
    try:
        for chunk in body:
            record.sent += len(chunk)
            yield chunk
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


class S3Middleware:
    """Serialize conditional writes per key, drop them for nocond- buckets, count requests."""

    def __init__(self, app: Callable[..., Iterable[bytes]], log: RequestLog) -> None:
        self.app = app
        self.log = log
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        record = RequestRecord(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""),
                               length, range=environ.get("HTTP_RANGE", ""))
        self.log.add(record)
        conditional = "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ
        if not conditional or environ["REQUEST_METHOD"] not in ("PUT", "POST"):
            return _counted(self.app(environ, start_response), record)
        if path.lstrip("/").startswith(NO_CONDITIONAL_PREFIX):
            environ.pop("HTTP_IF_NONE_MATCH", None)
            environ.pop("HTTP_IF_MATCH", None)
            return self.app(environ, start_response)
        with self._locks_guard:
            lock = self._locks[path]
        with lock:
            # Consume the whole response while holding the lock: the write happens inside.
            return list(self.app(environ, start_response))


class S3TestServer(ThreadedMotoServer):
    """ThreadedMotoServer on 127.0.0.1 with :class:`S3Middleware` around the app."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self.requests = RequestLog()

    def _server_entry(self) -> None:
        app = S3Middleware(DomainDispatcherApplication(create_backend_app), self.requests)
        self._server = make_server(self._ip_address, self._port, app, True)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint_url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

"""The benchmark's S3-compatible server: tests/s3server.py's moto server, in a process of its own.

In its own process the server does not share the benchmark's interpreter lock, so the client
being measured, whichever it is (eoscatalog, boto3, the aws CLI), gets both cores' worth of the
machine that a real network peer would leave it. Requests are counted on the server's side and
read over HTTP at ``/__bench/requests`` (``/__bench/reset`` clears them), so every client's
requests and bytes are counted the same way.

One thing is changed about moto, for every client alike: a GET of a large object (8 MiB or
more; with or without a ``Range``) is answered by streaming just the bytes asked for from the
object's stored value. moto itself reads the whole object into memory for every GET, so a
ranged GET of 8 MiB of a 1 GiB object costs it a 1 GiB copy: parallel ranged downloads (boto3's
and the aws CLI's) would then measure moto, not the client. Real S3 serves a range at the cost
of the range.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
CONTROL = "/__bench/"


@dataclass(frozen=True)
class Counts:
    """Requests a client made and the bytes that moved, as the server saw them."""

    requests: int
    by_method: dict[str, int]
    received: int  # request bodies: bytes uploaded
    sent: int  # response bodies: bytes downloaded

    def describe(self) -> str:
        """``"3 requests (2 GET, 1 PUT); 1.0 MiB up, 0 B down"``."""
        methods = ", ".join(f"{n} {m}" for m, n in sorted(self.by_method.items()))
        plural = "" if self.requests == 1 else "s"
        return (f"{self.requests} request{plural} ({methods or 'none'}); "
                f"{_size(self.received)} up, {_size(self.sent)} down")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class BenchServer:
    """Start the server process; count, reset and stop it.

    >>> # with BenchServer() as server: server.endpoint_url -> "http://127.0.0.1:PORT"
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint_url = ""

    def __enter__(self) -> BenchServer:
        self.process = subprocess.Popen(
            [sys.executable, __file__], stdout=subprocess.PIPE, env=dict(os.environ),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"the benchmark's S3 server did not start: {line!r}")
        self.endpoint_url = line
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def _control(self, what: str) -> Any:
        with urllib.request.urlopen(self.endpoint_url + CONTROL + what, timeout=30) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        """Forget the requests counted so far."""
        self._control("reset")

    def counts(self, bucket: str | None = None, within: str = "",
               match: Callable[[str], bool] | None = None,
               methods: Collection[str] | None = None) -> Counts:
        """What was counted since the last reset (only ``bucket``'s requests if given, only
        those whose path holds ``within`` if given, e.g. ``"/blobs/"``, only those whose path
        ``match`` accepts and whose method is one of ``methods`` if given)."""
        records = self._control("requests")
        if bucket is not None:
            records = [r for r in records if r["path"].split("/")[1:2] == [bucket]]
        records = [r for r in records if within in r["path"]
                   and (match is None or match(r["path"]))
                   and (methods is None or r["method"] in methods)]
        by_method: dict[str, int] = {}
        for r in records:
            by_method[r["method"]] = by_method.get(r["method"], 0) + 1
        return Counts(len(records), by_method, sum(r["received"] for r in records),
                      sum(r["sent"] for r in records))


FAST_GET_MIN = 8 * 1024 * 1024
STREAM_PIECE = 1024 * 1024


def _fast_get(environ: dict[str, Any], start_response: Any) -> Any | None:
    """Answer a plain or ranged GET of a large object from moto's stored value, streaming just
    the bytes asked for; None to let moto answer (anything unusual: a query, conditions other
    than a matching If-Match, several ranges, a small or missing object)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    if environ["REQUEST_METHOD"] != "GET" or environ.get("QUERY_STRING"):
        return None
    if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
        return None
    bucket, _, name = environ.get("PATH_INFO", "").lstrip("/").partition("/")
    if not name:
        return None
    from urllib.parse import unquote

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    try:
        key = backend.get_object(bucket, unquote(name))
    except Exception:
        return None
    if key is None or key.size < FAST_GET_MIN:
        return None
    if environ.get("HTTP_IF_MATCH", key.etag).strip() != key.etag:
        return None
    size, spec = key.size, environ.get("HTTP_RANGE", "")
    status, begin, end = "200 OK", 0, size - 1
    if spec:
        unit, _, ranges = spec.partition("=")
        first, _, last = ranges.partition("-")
        if unit != "bytes" or "," in ranges or not first.isdigit() or int(first) >= size:
            return None
        begin = int(first)
        end = min(int(last), size - 1) if last.isdigit() else size - 1
        status = "206 Partial Content"
    headers = [("Content-Type", key.metadata.get("Content-Type", "binary/octet-stream")),
               ("Content-Length", str(end - begin + 1)), ("ETag", key.etag),
               ("Last-Modified", key.last_modified_RFC1123), ("Accept-Ranges", "bytes")]
    if spec:
        headers.append(("Content-Range", f"bytes {begin}-{end}/{size}"))
    start_response(status, headers)

    def body() -> Any:
        offset = begin
        while offset <= end:
            with key.lock:
                key._value_buffer.seek(offset)
                piece = key._value_buffer.read(min(STREAM_PIECE, end - offset + 1))
            if not piece:
                return
            offset += len(piece)
            yield piece

    return body()


def _serve() -> None:
    """Run the server (the child process): print its URL, serve until terminated."""
    sys.path.insert(0, str(TESTS))
    from s3server import S3Middleware, S3TestServer

    class ControlledMiddleware(S3Middleware):
        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            if not path.startswith(CONTROL):
                return super().__call__(environ, start_response)
            return self._control(path, start_response)

        def app_call(self, environ: dict[str, Any], start_response: Any) -> Any:
            return _fast_get(environ, start_response) or self.moto(environ, start_response)

        def _control(self, path: str, start_response: Any) -> Any:
            if path == CONTROL + "reset":
                self.log.clear()
                body = b"{}"
            else:
                with self.log.lock:
                    body = json.dumps([r.__dict__ for r in self.log.records]).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]

    class Server(S3TestServer):
        def _server_entry(self) -> None:
            from moto.server import DomainDispatcherApplication, create_backend_app
            from werkzeug.serving import make_server

            moto_app = DomainDispatcherApplication(create_backend_app)
            app = ControlledMiddleware(moto_app, self.requests)
            app.moto = moto_app
            app.app = app.app_call
            self._server = make_server(self._ip_address, self._port, app, True)
            self._server_ready_event.set()
            self._server.serve_forever()

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = Server()
    server.start()
    print(server.endpoint_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    _serve()

"""Run the app with uvicorn: bind, print the URL, serve until stopped (``eos ui``).

Bound to loopback (the default, ``127.0.0.1``) the server asks for no token: only this
machine's users reach it. Bound elsewhere, or ``--proxied``, it asks for a token
(``EOS_UI_TOKEN``, or a random one, ``secrets.token_urlsafe``, as Jupyter does) and prints it
in the URL. Port 0 picks a free port; the URL shows the real one.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable

import uvicorn

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.ui.app import create_app
from eoscatalog.ui.records import uri_of
from eoscatalog.ui.security import LOOPBACK_NAMES

__all__ = ["TOKEN_VARIABLE", "is_loopback", "serve", "url_of"]

TOKEN_VARIABLE = "EOS_UI_TOKEN"  # the token to ask for (jupyter-server-proxy sets it)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_of(host: str, port: int, token: str | None) -> str:
    """The URL to open: ``http://127.0.0.1:8000/``, with ``?token=...`` when one is needed.

    >>> url_of("::1", 8000, None), url_of("0.0.0.0", 80, "t")
    ('http://[::1]:8000/', 'http://0.0.0.0:80/?token=t')
    """
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(catalog: Catalog, *, prefix: str = "", host: str = "127.0.0.1", port: int = 0,
          open_browser: bool = False, proxied: bool = False,
          echo: Callable[[str], None] = print) -> None:
    """Serve ``catalog`` on ``host:port`` until interrupted (Ctrl-C); ``echo`` the URL first.

    ``prefix``: the folder the page opens at (``org/runs/``; ``eos://`` and the last ``/`` may
    be left out).

    ``proxied``: behind a proxy (jupyter-server-proxy), which sends its own Host header: a
    token is asked for even on loopback, and then any Host is served (on loopback without a
    token, only this machine's names are, so that no page reaches it by DNS rebinding).
    ``EOS_UI_TOKEN`` sets the token (the jupyter entry point passes it, and has the proxy
    send it in an Authorization header); otherwise it is random, printed in the URL.
    """
    prefix = prefix.removeprefix("eos://")
    if prefix:  # a folder the page opens at: org/runs -> org/runs/, checked now
        prefix = prefix if prefix.endswith("/") else prefix + "/"
        catalog.folder(uri_of(prefix, what="PREFIX"))
    token = os.environ.get(TOKEN_VARIABLE) or (
        None if is_loopback(host) and not proxied else secrets.token_urlsafe(24))
    hosts = LOOPBACK_NAMES if token is None else None  # a token stops rebinding pages
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections made as soon as the URL shows wait for uvicorn to accept
    url = url_of(host, sock.getsockname()[1], token)
    app = create_app(catalog, prefix=prefix, token=token, hosts=hosts)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    echo(f"eos ui: serving {catalog.store.url} at {url}")
    echo("eos ui: press Ctrl-C to stop")
    sys.stdout.flush()
    if open_browser:
        threading.Timer(0.5, webbrowser.open, [url]).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()

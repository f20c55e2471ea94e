"""The web app of ``eos ui``: :func:`create_app` builds it over a catalog.

The page (``static/index.html``, its ES modules ``main.js`` and the ``.js`` files it imports,
``app.css``) is served at ``./`` and ``static/``; its JSON API under ``api/`` (every URL
relative, so the app works under any path prefix, as behind JupyterHub's proxy).
:class:`~eoscatalog.ui.security.Guard` wraps it all.
"""

from __future__ import annotations

import mimetypes
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.version import __version__
from eoscatalog.ui import history, names, previews, tree, uploads
from eoscatalog.ui.drops import Drops
from eoscatalog.ui.responses import blocking, catalog_of, endpoint, error
from eoscatalog.ui.security import Guard

__all__ = ["STATIC", "create_app", "revalidated"]

STATIC = Path(__file__).resolve().parent / "static"

# The page's scripts are ES modules, which a browser runs only when served with a JavaScript
# type (the answers say nosniff): not left to the system's tables, where .js may be text/plain.
mimetypes.add_type("text/javascript", ".js")


def info_of(catalog: Catalog, csrf: str, prefix: str) -> dict[str, object]:
    """The answer of ``api/info``: what the page needs to start."""
    return {"namespaces": catalog.namespaces(), "user": catalog.user, "store": catalog.store.url,
            "s3": catalog.s3_options() is not None, "csrf": csrf, "prefix": prefix,
            "version": __version__, "default_namespace": catalog.location("x").namespace}


def revalidated(app: ASGIApp) -> ASGIApp:
    """``app`` with ``Cache-Control: no-cache`` on its answers: the browser asks again each
    time (a 304 when a file is unchanged), so a page never mixes modules of two releases."""
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_no_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cache-control", b"no-cache")]
            await send(message)

        await app(scope, receive, send_no_cache)

    return wrapped


@endpoint
async def info(request: Request) -> Response:
    """``GET api/info``."""
    state = request.app.state
    return JSONResponse(await blocking(info_of, catalog_of(request), state.csrf, state.prefix))


async def index(request: Request) -> Response:
    """``GET ./``: the page."""
    static: Path = request.app.state.static
    page = static / "index.html"
    if not page.is_file():
        return error(404, f"the page's files are missing from {static}: reinstall eoscatalog")
    return FileResponse(page, media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


async def not_found(request: Request) -> Response:
    """Any other URL under ``api/``."""
    return error(404, f"no such API call {request.url.path!r}: see docs/ui.md for the API")


def create_app(catalog: Catalog, *, prefix: str = "", token: str | None = None,
               hosts: frozenset[str] | None = None, upload_dir: str | Path | None = None,
               static: Path = STATIC) -> Starlette:
    """The web app serving ``catalog``.

    ``prefix``: the folder ``eos ui PREFIX`` opens at (``""``: the namespaces). ``token``: the
    access token requests must carry (None: none, when bound to loopback only). ``hosts``:
    the names the ``Host`` header may give (None: any; ``serve`` gives loopback's names when
    there is no token).
    ``upload_dir``: where drops wait for their commit (default: a new temp folder).
    ``static``: the page's files (the package's ``static/``).
    """
    csrf = secrets.token_urlsafe(32)
    # Made by the first drop, removed at shutdown: an app that never uploads leaves nothing.
    drops = Drops(Path(upload_dir or tempfile.gettempdir()) / f"eos-ui-{secrets.token_hex(8)}")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        drops.close()

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/tree", tree.tree),
        Route("/api/du", tree.du),
        Route("/api/name", names.name),
        Route("/api/share", names.share),
        Route("/api/raw", names.raw),
        Route("/api/preview", previews.preview_route),
        Route("/api/history", history.history),
        Route("/api/diff", history.diff),
        Route("/api/search", history.search),
        Route("/api/upload", uploads.open_upload, methods=["POST"]),
        Route("/api/upload/{upload}/commit", uploads.commit_upload, methods=["POST"]),
        Route("/api/upload/{upload}", uploads.cancel_upload, methods=["DELETE"]),
        Route("/api/upload/{upload}/{path:path}", uploads.put_file, methods=["PUT"]),
        Route("/api/{rest:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        Mount("/static", revalidated(StaticFiles(directory=static, check_dir=False)),
              name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(Guard, token=token, csrf=csrf, hosts=hosts)])
    app.state.catalog = catalog
    app.state.csrf = csrf
    app.state.prefix = prefix
    app.state.drops = drops
    app.state.static = static
    return app

"""JSON answers and one-line JSON errors, and the wrapper every API endpoint runs in.

An error is ``{"error": "<one line naming the problem and the fix>"}`` with a status that says
whose fault it is: 404 not found, 400 a bad ref or argument, 403 a write the catalog refuses,
409 a conflict, 502 the store failed. The catalog's calls block (SQLite, the store, hashing), so
:func:`blocking` runs them in a worker thread: one slow request never holds up the others.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import (
    ConflictError,
    EosError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
)

__all__ = ["blocking", "catalog_of", "endpoint", "error", "query", "status_of"]

logger = logging.getLogger("eoscatalog.ui")
T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]


def error(status: int, message: str) -> JSONResponse:
    """``{"error": message}`` with ``status``, on one line."""
    return JSONResponse({"error": " ".join(message.split())}, status_code=status)


def status_of(e: Exception) -> int:
    """The HTTP status an exception from the catalog answers with.

    >>> status_of(NotFoundError("x")), status_of(ValueError("x"))
    (404, 400)
    """
    for kind, status in ((NotFoundError, 404), (PermissionDeniedError, 403),
                         (ConflictError, 409), (IntegrityError, 502), (StoreError, 502),
                         (PermissionError, 403), (ValueError, 400), (EosError, 400)):
        if isinstance(e, kind):
            return status
    return 500


def endpoint(handler: Endpoint) -> Endpoint:
    """Wrap an endpoint: the errors it raises become one-line JSON errors."""
    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (EosError, ValueError, PermissionError) as e:
            return error(status_of(e), str(e))
        except Exception:
            logger.exception("eos ui: %s %s failed", request.method, request.url.path)
            return error(500, "internal error in eos ui (the server's log has the traceback); "
                              "please report it")
    return wrapped


async def blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking call (the catalog's) in a worker thread."""
    return await run_in_threadpool(function, *args, **kwargs)


def catalog_of(request: Request) -> Catalog:
    """The catalog the app serves."""
    catalog: Catalog = request.app.state.catalog
    return catalog


def query(request: Request, name: str, *, default: str | None = None) -> str:
    """A query parameter; a missing one (without a default) is a 400 naming it."""
    value = request.query_params.get(name, default)
    if value is None:
        raise ValueError(f"missing query parameter {name!r}: add ?{name}=... to the URL")
    return value

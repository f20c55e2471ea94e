"""``eos ui``: the catalog in a web browser, served by Starlette on uvicorn (docs/ui.md).

A face, as the CLI is: it calls :class:`~eoscatalog.catalog.catalog.Catalog` and the value types
below it, nothing else. :func:`~eoscatalog.ui.app.create_app` builds the web app (the JSON API
of the page in ``static/``); :func:`~eoscatalog.ui.server.serve` runs it; ``jupyter.py`` is the
jupyter-server-proxy entry point. Importing this package loads Starlette: the CLI imports it
only in ``eos ui``.
"""

from __future__ import annotations

from eoscatalog.ui.app import create_app

__all__ = ["create_app"]

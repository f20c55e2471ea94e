"""The ``eos ui`` command: the catalog in a web browser (eoscatalog/ui, docs/ui.md).

cli/main.py registers it (``COMMANDS``). Starlette and uvicorn are an optional extra (``pip
install "eoscatalog[ui]"``), imported only when the command runs.
"""

from __future__ import annotations

import click

from eoscatalog.cli.common import open_catalog

__all__ = ["COMMANDS", "ui"]


@click.command()
@click.argument("prefix", required=False, default="")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="The port to serve on (0: a free one; the URL shows it).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to bind; beyond loopback the URL carries an access token.")
@click.option("--no-browser", is_flag=True, help="Do not open a web browser.")
@click.option("--proxied", is_flag=True,
              help="Behind a proxy that checks who connects (JupyterHub's): serve any Host.")
def ui(prefix: str, port: int, host: str, no_browser: bool, proxied: bool) -> None:
    """Browse the catalog in a web browser: folders, versions, previews, diffs, uploads.

    Serves a local web page until Ctrl-C and prints its URL. PREFIX (org/runs/) is the folder
    the page opens at. Bound to 127.0.0.1 (the default) only this machine can connect; with
    --host 0.0.0.0 the printed URL carries a random access token.

    Example: eos ui org/runs/ --port 0 --no-browser
    """
    try:
        from eoscatalog.ui.server import serve
    except ImportError as e:
        raise click.ClickException(
            f"eos ui needs Starlette and uvicorn ({e.name} is missing): "
            'pip install "eoscatalog[ui]"') from None
    with open_catalog() as cat:
        try:
            serve(cat, prefix=prefix, host=host, port=port,
                  open_browser=not no_browser, proxied=proxied, echo=click.echo)
        except KeyboardInterrupt:
            pass
        except OSError as e:
            raise click.ClickException(
                f"cannot serve on {host}:{port}: {e.strerror or e} (pick another --port, "
                "or 0 for a free one)") from None


COMMANDS = [ui]

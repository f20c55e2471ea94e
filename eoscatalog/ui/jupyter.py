"""The jupyter-server-proxy entry point: ``eos ui`` in the JupyterLab launcher.

Registered under ``jupyter_serverproxy_servers`` (pyproject.toml; ``pip install
"eoscatalog[jupyter]"``): JupyterLab starts ``eos ui`` on a port of its choosing and serves it
under ``<hub>/user/<name>/eos-ui/``; every URL of the page is relative, so it works there.
The proxy sends the hub's Host header, so ``--proxied``; and the server asks for a token,
made here, given to ``eos ui`` in ``EOS_UI_TOKEN`` and added by the proxy to every request it
forwards (``request_headers_override``): only what comes through the proxy, which checks
the notebook's user, is served, never another user of the machine or a rebound web page.
"""

from __future__ import annotations

import secrets
import sys
from typing import Any

__all__ = ["setup_eos_ui"]


def setup_eos_ui() -> dict[str, Any]:
    """The server's description, as jupyter-server-proxy reads it.

    The command runs this Python's eoscatalog (``python -m eoscatalog``): the one Jupyter
    found the entry point in, whatever is first on the PATH.

    >>> setup_eos_ui()["command"][1:]
    ['-m', 'eoscatalog', 'ui', '--port', '{port}', '--no-browser', '--proxied']
    """
    token = secrets.token_urlsafe(32)
    return {
        "command": [sys.executable, "-m", "eoscatalog", "ui", "--port", "{port}", "--no-browser",
                    "--proxied"],
        "environment": {"EOS_UI_TOKEN": token},
        "request_headers_override": {"Authorization": f"token {token}"},
        "timeout": 30,
        "absolute_url": False,
        "new_browser_tab": True,
        "launcher_entry": {"enabled": True, "title": "eos catalog"},
    }

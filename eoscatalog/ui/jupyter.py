"""The jupyter-server-proxy entry point: ``eos ui`` in the JupyterLab launcher.

Registered under ``jupyter_serverproxy_servers`` (pyproject.toml; ``pip install
"eoscatalog[jupyter]"``): JupyterLab starts ``eos ui`` on a port of its choosing and serves it
under ``<hub>/user/<name>/eos-ui/``; every URL of the page is relative, so it works there.
The proxy lets only the notebook's user through and sends the hub's Host header: ``--proxied``
serves any Host.
"""

from __future__ import annotations

from typing import Any

__all__ = ["setup_eos_ui"]


def setup_eos_ui() -> dict[str, Any]:
    """The server's description, as jupyter-server-proxy reads it.

    >>> setup_eos_ui()["command"]
    ['eos', 'ui', '--port', '{port}', '--no-browser', '--proxied']
    """
    return {
        "command": ["eos", "ui", "--port", "{port}", "--no-browser", "--proxied"],
        "timeout": 30,
        "absolute_url": False,
        "new_browser_tab": True,
        "launcher_entry": {"enabled": True, "title": "eos catalog"},
    }

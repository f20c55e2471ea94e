"""``eos ui`` behind a real Jupyter server and jupyter-server-proxy, as the JupyterLab launcher
starts it (the ``jupyter_serverproxy_servers`` entry point, eoscatalog/ui/jupyter.py).

The proxy starts ``eos ui --proxied`` on a port of its choosing and adds the server's token to
every request it forwards, while the URL carries Jupyter's own ``?token=``. Through the proxy
the page, the API and a write answer; straight at ``eos ui``'s port, without the token, nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JUPYTER_TOKEN = "jupyters-own-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except urllib.error.URLError:  # not listening yet
        return 0, b""


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A Jupyter server with jupyter-server-proxy on 127.0.0.1 (Jupyter's token asked for),
    over a catalog with one name; its base URL and log."""
    root = tmp_path_factory.mktemp("jupyter")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_HOME": str(root / "eos"),
           "EOS_USER": "ada", "JUPYTER_CONFIG_DIR": str(root / "config"),
           "JUPYTER_DATA_DIR": str(root / "data"), "JUPYTER_RUNTIME_DIR": str(root / "run"),
           "PYTHONUNBUFFERED": "1"}
    env.pop("EOS_UI_TOKEN", None)
    # The extension enabled here, not only by the file pip puts in its own prefix's etc/jupyter
    # (a venv with --system-site-packages over an installed jupyter-server-proxy has none).
    (root / "config").mkdir()
    (root / "config" / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"jupyter_server_proxy": True}}}))
    (root / "a.txt").write_bytes(b"through the proxy")
    subprocess.run([sys.executable, "-m", "eoscatalog", "put", "a.txt", "eos://org/a.txt"],
                   env=env, cwd=root, check=True, capture_output=True, timeout=120)
    port = _free_port()
    log = root / "jupyter.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
             f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={JUPYTER_TOKEN}",
             f"--ServerApp.root_dir={root}"],
            env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while _get(base + f"api/status?token={JUPYTER_TOKEN}")[0] != 200:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield base, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_through_the_proxy_the_page_the_api_and_a_write_answer(
        jupyter: tuple[str, Path]) -> None:
    base, log = jupyter
    ui = base + "eos-ui/"
    status, body = _get(ui + f"api/info?token={JUPYTER_TOKEN}")  # the proxy starts eos ui
    assert status == 200, (body, log.read_text()[-3000:])
    info = json.loads(body)
    assert info["user"] == "ada" and info["namespaces"] == ["org"]
    status, body = _get(ui + f"api/tree?path=org/&token={JUPYTER_TOKEN}")
    assert status == 200 and [f["name"] for f in json.loads(body)["files"]] == ["a.txt"]
    status, body = _get(ui + f"?token={JUPYTER_TOKEN}")
    assert status == 200 and b'src="static/main.js"' in body
    opened = urllib.request.Request(
        ui + f"api/upload?token={JUPYTER_TOKEN}", method="POST",
        data=json.dumps({"folder": "org/up/"}).encode(),
        headers={"X-EOS-CSRF": info["csrf"], "Origin": base.rstrip("/"),
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(opened, timeout=60) as answer:
        assert "upload" in json.load(answer)
    # Without Jupyter's login, Jupyter answers (its login page, or a refusal), not eos ui.
    status, body = _get(ui + "api/info")
    assert b'"csrf"' not in body and (status != 200 or b"<html" in body.lower())


def test_straight_at_its_port_eos_ui_asks_for_the_token_the_proxy_holds(
        jupyter: tuple[str, Path]) -> None:
    base, log = jupyter
    assert _get(base + f"eos-ui/api/info?token={JUPYTER_TOKEN}")[0] == 200  # started
    found = re.search(r"eos ui: serving \S+ at (http://127\.0\.0\.1:\d+/)\?token=(\S+)",
                      log.read_text())
    assert found is not None, log.read_text()[-3000:]
    direct, token = found.groups()
    for headers in ({}, {"Host": "hub.example"}):  # another user of the machine; a page
        assert _get(direct + "api/info", **headers)[0] == 403
    assert _get(direct + "api/info", Authorization=f"token {token}")[0] == 200

"""``eos ui`` as a real process: it prints its URL (port 0: a free one), serves, and stops on
Ctrl-C; beyond loopback the URL carries a token. And the jupyter-server-proxy entry point."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from eoscatalog.cli.main import cli
from eoscatalog.ui.jupyter import setup_eos_ui
from eoscatalog.ui.server import is_loopback, url_of

ROOT = Path(__file__).resolve().parent.parent


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_HOME": str(tmp_path / "home"),
           "EOS_USER": "ada", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "eoscatalog", "ui", *args, "--no-browser"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"(http://\S+)", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"no URL in {line!r}: {proc.communicate(timeout=30)}")
    return proc, found.group(1)


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_eos_ui_on_port_0_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc, url = _start(tmp_path, "eos://org", "--port", "0")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*/", url), url
        with urllib.request.urlopen(url + "api/info", timeout=30) as answer:
            info = json.load(answer)
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert info["user"] == "ada" and info["prefix"] == "org/"
        rebound = urllib.request.Request(url + "api/info", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(rebound, timeout=30)
        assert refused.value.code == 403
    finally:
        code = _stop(proc)
    assert code == 0, proc.communicate()


def test_beyond_loopback_the_url_carries_a_token(tmp_path: Path) -> None:
    proc, url = _start(tmp_path, "--host", "0.0.0.0", "--port", "0")
    try:
        base, _, token = url.partition("?token=")
        assert len(token) >= 24
        local = base.replace("0.0.0.0", "127.0.0.1")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(local + "api/info", timeout=30)
        assert refused.value.code == 403
        asked = urllib.request.Request(local + "api/info",
                                       headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(asked, timeout=30) as answer:
            assert json.load(answer)["user"] == "ada"
    finally:
        _stop(proc)


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    proc, url = _start(tmp_path, "--port", "0")
    try:
        port = url.rsplit(":", 1)[1].strip("/")
        other = subprocess.run(
            [sys.executable, "-m", "eoscatalog", "ui", "--port", port, "--no-browser"],
            env={**os.environ, "PYTHONPATH": str(ROOT), "EOS_HOME": str(tmp_path / "home"),
                 "EOS_USER": "ada"}, capture_output=True, text=True, timeout=60)
        assert other.returncode == 1
        assert "pick another --port" in other.stderr and len(other.stderr.splitlines()) == 1
    finally:
        _stop(proc)


def test_a_bad_prefix_is_a_one_line_error(tmp_path: Path) -> None:
    found = subprocess.run(
        [sys.executable, "-m", "eoscatalog", "ui", "../etc", "--port", "0", "--no-browser"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "EOS_HOME": str(tmp_path / "home"),
             "EOS_USER": "ada"}, capture_output=True, text=True, timeout=60)
    assert found.returncode == 1
    errors = [line for line in found.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "invalid PREFIX '../etc/'" in errors[0]


def test_without_starlette_eos_ui_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn raises ImportError
    monkeypatch.delitem(sys.modules, "eoscatalog.ui.server", raising=False)
    result = CliRunner().invoke(cli, ["ui", "--no-browser"])
    assert result.exit_code == 1
    assert 'pip install "eoscatalog[ui]"' in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_jupyter_entry_point_runs_eos_ui_on_the_proxys_port() -> None:
    found = setup_eos_ui()
    assert found["command"] == [sys.executable, "-m", "eoscatalog", "ui", "--port", "{port}",
                                "--no-browser", "--proxied"]
    assert found["launcher_entry"]["title"] and found["absolute_url"] is False
    # The proxy gives every request it forwards the token the server asks for.
    token = found["environment"]["EOS_UI_TOKEN"]
    assert len(token) >= 32 and token != setup_eos_ui()["environment"]["EOS_UI_TOKEN"]
    assert found["request_headers_override"] == {"Authorization": f"token {token}"}


def test_proxied_it_serves_any_host_but_only_with_the_token_the_proxy_sends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOS_UI_TOKEN", "the-proxys-token-0123456789")
    proc, url = _start(tmp_path, "--port", "0", "--proxied")
    try:
        base, _, token = url.partition("?token=")
        assert token == "the-proxys-token-0123456789"
        for headers in ({}, {"Host": "hub.example"}):  # another user of the machine; a page
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(base + "api/info",
                                                              headers=headers), timeout=30)
            assert refused.value.code == 403
        through_proxy = urllib.request.Request(
            base + "api/info", headers={"Host": "hub.example", "Authorization": f"token {token}"})
        with urllib.request.urlopen(through_proxy, timeout=30) as answer:
            assert json.load(answer)["user"] == "ada"
    finally:
        _stop(proc)


def test_urls_and_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
    assert url_of("127.0.0.1", 8765, None) == "http://127.0.0.1:8765/"

"""eos ui's guards (docs/ui.md, Security): the access token beyond loopback, CSRF on writes,
and the security headers on every answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from ui_helpers import fill, local_catalog, make_client

from eoscatalog import Catalog
from eoscatalog.store import LocalStore
from eoscatalog.ui.security import LOOPBACK_NAMES, SECURITY_HEADERS

TOKEN = "s3cr3t-token-for-tests"


@pytest.fixture
def cat(local_store: LocalStore, tmp_path: Path) -> Iterator[Catalog]:
    yield from local_catalog(local_store, tmp_path)


@pytest.fixture
def client(cat: Catalog, tmp_path: Path) -> TestClient:
    fill(cat)
    return make_client(cat, tmp_path)


@pytest.fixture
def guarded(cat: Catalog, tmp_path: Path) -> TestClient:
    fill(cat)
    return make_client(cat, tmp_path, token=TOKEN)


def _headers_are_set(answer: object) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    for name, value in SECURITY_HEADERS:
        assert headers[name.decode()] == value.decode(), name


def test_without_the_token_everything_is_refused(guarded: TestClient) -> None:
    for url in ("/", "/static/main.js", "/api/info", "/api/tree?path=org/",
                "/api/raw?ref=org/runs/t.csv"):
        answer = guarded.get(url)
        assert answer.status_code == 403, url
        assert "token" in answer.json()["error"]
        _headers_are_set(answer)
    assert guarded.get("/api/info", params={"token": "wrong"}).status_code == 403
    assert guarded.get("/api/info", headers={"Authorization": "token wrong"}).status_code == 403
    assert guarded.get("/api/info",
                       headers={"Cookie": "eos_ui_token_8765=wrong"}).status_code == 403


def test_the_token_in_the_url_becomes_a_strict_cookie_and_leaves_the_url(
        guarded: TestClient) -> None:
    answer = guarded.get("/", params={"token": TOKEN, "x": "1"}, follow_redirects=False)
    # Relative, so that behind a proxy (/user/ada/proxy/8765/) it stays there.
    assert answer.status_code == 303 and answer.headers["location"] == "./?x=1"
    cookie = answer.headers["set-cookie"]
    # Named by the port (the test client uses 8765): servers on two ports keep their own.
    assert f"eos_ui_token_8765={TOKEN}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path" not in cookie
    _headers_are_set(answer)
    # The client keeps the cookie: the page and the API now answer.
    assert guarded.get("/").status_code == 200
    assert guarded.get("/api/info").json()["user"] == "ada"
    guarded.cookies.clear()
    deeper = guarded.get("/api/info", params={"token": TOKEN}, follow_redirects=False)
    assert deeper.headers["location"] == "info"


def test_behind_jupyter_the_header_token_wins_over_jupyters_own_in_the_url(
        guarded: TestClient) -> None:
    # jupyter-server-proxy forwards the URL as it is, Jupyter's ?token= included, and adds
    # this server's token as a header.
    headers = {"Authorization": f"token {TOKEN}"}
    answer = guarded.get("/api/info", params={"token": "jupyters-own"}, headers=headers)
    assert answer.status_code == 200 and answer.json()["user"] == "ada"
    assert guarded.get("/api/info", params={"token": "jupyters-own"}).status_code == 403


def test_the_token_in_an_authorization_header_or_the_cookie_is_accepted(
        cat: Catalog, tmp_path: Path) -> None:
    client = make_client(cat, tmp_path, token=TOKEN)
    assert client.get("/api/info", headers={"Authorization": f"token {TOKEN}"}).status_code == 200
    assert client.get("/api/info",
                      headers={"Cookie": f"eos_ui_token_8765={TOKEN}"}).status_code == 200
    assert client.get("/api/info",  # another port's server's cookie
                      headers={"Cookie": f"eos_ui_token_8766={TOKEN}"}).status_code == 403


def _csrf(client: TestClient, **headers: str) -> str:
    csrf: str = client.get("/api/info", headers=headers).json()["csrf"]
    return csrf


def test_a_write_without_the_csrf_header_is_refused_and_writes_nothing(
        cat: Catalog, client: TestClient) -> None:
    before = cat.changesets_written()
    for headers in ({}, {"X-EOS-CSRF": "guess"}):
        answer = client.post("/api/upload", json={"folder": "org/up/"}, headers=headers)
        assert answer.status_code == 403 and "X-EOS-CSRF" in answer.json()["error"]
        _headers_are_set(answer)
    assert client.put("/api/upload/x/a.txt", content=b"x").status_code == 403
    assert client.delete("/api/upload/x").status_code == 403
    assert cat.changesets_written() == before
    assert cat.ls("eos://org/up/").files == ()


def test_a_write_from_a_foreign_origin_is_refused(cat: Catalog, client: TestClient) -> None:
    csrf = _csrf(client)
    foreign = client.post("/api/upload", json={"folder": "org/up/"},
                          headers={"X-EOS-CSRF": csrf, "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "another site" in foreign.json()["error"]
    own = client.post("/api/upload", json={"folder": "org/up/"},
                      headers={"X-EOS-CSRF": csrf, "Origin": "http://127.0.0.1:8765"})
    assert own.status_code == 200
    proxied = client.post("/api/upload", json={"folder": "org/up/"},
                          headers={"X-EOS-CSRF": csrf, "Origin": "https://hub.example",
                                   "X-Forwarded-Host": "hub.example",
                                   "X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200


def test_with_a_token_writes_need_both(guarded: TestClient) -> None:
    csrf = _csrf(guarded, Authorization=f"token {TOKEN}")
    assert guarded.post("/api/upload", json={"folder": "org/up/"},
                        headers={"X-EOS-CSRF": csrf}).status_code == 403
    assert guarded.post("/api/upload", json={"folder": "org/up/"},
                        headers={"Authorization": f"token {TOKEN}"}).status_code == 403
    assert guarded.post("/api/upload", json={"folder": "org/up/"},
                        headers={"X-EOS-CSRF": csrf,
                                 "Authorization": f"token {TOKEN}"}).status_code == 200


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    answers = [client.get(u) for u in ("/", "/static/main.js", "/static/none.js", "/api/info",
                                       "/api/tree?path=org/", "/api/nothing",
                                       "/api/name?ref=org/none", "/api/raw?ref=org/runs/t.csv")]
    answers.append(client.post("/api/upload"))
    assert {a.status_code for a in answers} == {200, 403, 404}
    for answer in answers:
        _headers_are_set(answer)
    csp = answers[0].headers["content-security-policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp and "unsafe" not in csp


def test_on_loopback_only_this_machines_names_are_served(cat: Catalog, tmp_path: Path) -> None:
    """A site an attacker points at 127.0.0.1 (DNS rebinding) sends its own name as Host."""
    client = make_client(cat, tmp_path, hosts=LOOPBACK_NAMES)
    assert client.get("/api/info").status_code == 200
    for host in ("localhost:8765", "[::1]:8765", "127.0.0.1"):
        assert client.get("/api/info", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example:8765", "evil.example", "127.0.0.1.evil.example", ""):
        refused = client.get("/api/info", headers={"Host": host})
        assert refused.status_code == 403, host
        _headers_are_set(refused)
    proxied = make_client(cat, tmp_path / "proxied")  # hosts=None: behind jupyter-server-proxy
    assert proxied.get("/api/info", headers={"Host": "hub.example"}).status_code == 200

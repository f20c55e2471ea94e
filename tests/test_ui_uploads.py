"""eos ui's uploads: a drop of files is ONE changeset, streamed to disk first; a namespace the
user may not write is refused before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from ui_helpers import local_catalog, make_client

from eoscatalog import Catalog
from eoscatalog.store import LocalStore


@pytest.fixture
def cat(local_store: LocalStore, tmp_path: Path) -> Iterator[Catalog]:
    yield from local_catalog(local_store, tmp_path)


@pytest.fixture
def client(cat: Catalog, tmp_path: Path) -> TestClient:
    return make_client(cat, tmp_path / "ui")


def _headers(client: TestClient) -> dict[str, str]:
    return {"X-EOS-CSRF": client.get("/api/info").json()["csrf"]}


def test_a_drop_of_several_files_is_one_changeset(cat: Catalog, client: TestClient,
                                                  tmp_path: Path) -> None:
    headers = _headers(client)
    drop = client.post("/api/upload", json={"folder": "org/runs/", "message": "from the desk"},
                       headers=headers).json()["upload"]
    big = bytes(range(256)) * 4096 * 5  # 5 MiB, streamed in chunks
    for name, data in (("a.csv", b"a\n1\n"), ("deep/b.txt", b"b"), ("big.bin", big)):
        answer = client.put(f"/api/upload/{drop}/{name}", content=data, headers=headers)
        assert answer.json() == {"size": len(data)}
    assert list((tmp_path / "ui").glob("eos-ui-*/*/*.part")), "the files wait on disk"
    assert cat.ls("eos://org/runs/").files == ()  # nothing in the catalog yet
    before = cat.changesets_written()
    records = client.post(f"/api/upload/{drop}/commit", headers=headers).json()["records"]
    assert cat.changesets_written() == before + 1
    assert sorted(r["path"] for r in records) == ["org/runs/a.csv", "org/runs/big.bin",
                                                   "org/runs/deep/b.txt"]
    assert {r["message"] for r in records} == {"from the desk"}
    assert len(cat.folders.versions("eos://org/runs/")) == 1
    assert cat.cat("eos://org/runs/big.bin") == big
    assert not list((tmp_path / "ui").glob("eos-ui-*")), "the drop's files are gone"
    again = client.post(f"/api/upload/{drop}/commit", headers=headers)
    assert again.status_code == 404


def test_a_namespace_the_user_may_not_write_is_refused_and_nothing_is_written(
        cat: Catalog, client: TestClient) -> None:
    headers = _headers(client)
    before = cat.changesets_written()
    for folder in ("users/bob/", "public/data/"):
        answer = client.post("/api/upload", json={"folder": folder}, headers=headers)
        assert answer.status_code == 403 and "write" in answer.json()["error"]
    assert cat.changesets_written() == before
    assert cat.namespaces() == []


def test_a_commit_the_catalog_refuses_is_a_403_and_writes_nothing(
        cat: Catalog, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = _headers(client)
    drop = client.post("/api/upload", json={"folder": "users/ada/in/"},
                       headers=headers).json()["upload"]
    client.put(f"/api/upload/{drop}/a.txt", content=b"a", headers=headers)
    monkeypatch.setattr(cat, "user", "eve")  # ada's folder is no longer the user's own
    before = cat.changesets_written()
    answer = client.post(f"/api/upload/{drop}/commit", headers=headers)
    assert answer.status_code == 403 and "cannot write to users/ada" in answer.json()["error"]
    assert cat.changesets_written() == before
    assert cat.namespaces() == []


def test_bad_names_are_refused_before_a_byte_is_written(cat: Catalog, client: TestClient,
                                                        tmp_path: Path) -> None:
    headers = _headers(client)
    drop = client.post("/api/upload", json={"folder": "org/runs/"},
                       headers=headers).json()["upload"]
    for name in ("a@1.txt", "a%3Fb", "a%23b", "sub/%2E/c", "%2E%2E/x", "a%0Ab", "x/"):
        answer = client.put(f"/api/upload/{drop}/{name}", content=b"x", headers=headers)
        assert answer.status_code in (400, 404), name
    assert not list((tmp_path / "ui").glob("eos-ui-*/*/*.part"))
    assert client.post(f"/api/upload/{drop}/commit", headers=headers).status_code == 400


def test_a_cancelled_drop_leaves_nothing(cat: Catalog, client: TestClient,
                                         tmp_path: Path) -> None:
    headers = _headers(client)
    drop = client.post("/api/upload", json={"folder": "org/runs/"},
                       headers=headers).json()["upload"]
    client.put(f"/api/upload/{drop}/a.txt", content=b"a", headers=headers)
    assert client.delete(f"/api/upload/{drop}", headers=headers).json()["cancelled"] is True
    assert not list((tmp_path / "ui").glob("eos-ui-*/*"))
    assert client.put(f"/api/upload/{drop}/b.txt", content=b"b",
                      headers=headers).status_code == 404
    assert cat.namespaces() == []


def test_a_malformed_upload_request_is_a_400(client: TestClient) -> None:
    headers = _headers(client)
    for body in (b"not json", b"[]", b'{"folder": 3}', b'{"folder": "org/runs"}',
                 b'{"folder": "org/runs@2/"}', b'{"folder": "../x/"}'):
        answer = client.post("/api/upload", content=body, headers=headers)
        assert answer.status_code == 400, body

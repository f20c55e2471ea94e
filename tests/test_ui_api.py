"""eos ui's HTTP API (docs/ui.md): every route, on a catalog on the local store, through
Starlette's TestClient. The guards (token, CSRF, headers) are in test_ui_security.py, uploads
in test_ui_uploads.py, the server as a process in test_ui_server.py."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from ui_helpers import HOSTILE, fill, local_catalog, make_client

from eoscatalog import Catalog
from eoscatalog.store import LocalStore


@pytest.fixture
def cat(local_store: LocalStore, tmp_path: Path) -> Iterator[Catalog]:
    yield from local_catalog(local_store, tmp_path)


@pytest.fixture
def client(cat: Catalog, tmp_path: Path) -> TestClient:
    fill(cat)
    return make_client(cat, tmp_path)


REC_KEYS = {"namespace", "name", "path", "version", "kind", "hash", "size", "created", "author",
            "message", "tags", "meta", "source_version", "ref"}


def test_the_page_and_its_static_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "main.js" in page.text
    assert client.get("/static/main.js").text == "// the page\n"
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_info_tells_the_page_who_and_where(client: TestClient, cat: Catalog) -> None:
    info = client.get("/api/info").json()
    assert info["namespaces"] == ["org", "users/ada"] and info["user"] == "ada"
    assert info["store"] == cat.store.url and info["s3"] is False and info["prefix"] == ""
    assert len(info["csrf"]) >= 32 and info["version"]


def test_the_root_of_the_tree_is_the_namespaces_with_their_counts(client: TestClient) -> None:
    tree = client.get("/api/tree", params={"path": ""}).json()
    assert tree["folders"] == [
        {"name": "org/", "path": "org/", "names": 3, "bytes": 8 + 2 + 4},
        {"name": "users/ada/", "path": "users/ada/", "names": 1, "bytes": 6}]
    assert tree["files"] == [] and tree["names"] == 4


def test_a_folder_shows_its_sub_folders_counted_and_its_files(client: TestClient) -> None:
    tree = client.get("/api/tree", params={"path": "org/runs/"}).json()
    assert tree["folders"] == [{"name": "sub/", "path": "org/runs/sub/", "names": 1,
                                "bytes": 2}]
    assert [f["path"] for f in tree["files"]] == [f"org/runs/{HOSTILE}", "org/runs/t.csv"]
    assert all(set(f) == REC_KEYS for f in tree["files"])
    assert tree["files"][1]["ref"] == "org/runs/t.csv@2" and tree["names"] == 3
    assert client.get("/api/tree", params={"path": "org/"}).json()["folders"][0]["names"] == 3


def test_a_time_shows_the_tree_as_it_was(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"1", "eos://org/runs/a.txt")
    before = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(0.01)
    cat.put_bytes(b"22", "eos://org/runs/a.txt")
    cat.put_bytes(b"3", "eos://org/runs/new/b.txt")
    client = make_client(cat, tmp_path)
    old = client.get("/api/tree", params={"path": "org/runs/", "at": before}).json()
    assert old["folders"] == [] and [(f["name"], f["version"]) for f in old["files"]] == [
        ("runs/a.txt", 1)]
    assert old["at"] == before
    now = client.get("/api/tree", params={"path": "org/runs/"}).json()
    assert [f["version"] for f in now["files"]] == [2] and len(now["folders"]) == 1
    earlier = client.get("/api/tree", params={"path": "org/runs/new/", "at": before}).json()
    assert earlier["names"] == 0 and "did not exist at" in earlier["note"]
    bad = client.get("/api/tree", params={"path": "org/runs/", "at": "yesterday"})
    assert bad.status_code in (400, 404) and "error" in bad.json()


def test_a_folder_of_10000_names_answers_in_well_under_a_second(cat: Catalog,
                                                                   tmp_path: Path) -> None:
    cat.put_bytes(b"x", "eos://org/seed.txt")
    cat.copy_many([("eos://org/seed.txt", f"eos://org/big/{i // 100:03d}/{i:05d}.txt")
                   for i in range(5000)] +
                  [("eos://org/seed.txt", f"eos://org/big/{i:05d}.txt") for i in range(5000)])
    client = make_client(cat, tmp_path)
    client.get("/api/tree", params={"path": "org/big/"})  # warm
    started = time.process_time()
    tree = client.get("/api/tree", params={"path": "org/big/"}).json()
    spent = time.process_time() - started
    assert tree["names"] == 10_000 and len(tree["folders"]) == 50 and len(tree["files"]) == 5000
    assert tree["folders"][0]["names"] == 100
    assert spent < 0.5, f"api/tree of 10,000 names took {spent:.2f} s of CPU"


def test_a_names_page_has_its_versions_snippets_and_download(client: TestClient) -> None:
    page = client.get("/api/name", params={"ref": "org/runs/t.csv"}).json()
    assert page["record"]["ref"] == "org/runs/t.csv@2"
    assert [v["version"] for v in page["versions"]] == [2, 1]  # newest first
    assert page["snippets"] == {"file": 'File(remote="eos://org/runs/t.csv@2")',
                                "uri": "eos://org/runs/t.csv@2",
                                "pandas": 'pd.read_csv("eos://org/runs/t.csv@2")'}
    assert page["download"] == "api/raw?ref=org/runs/t.csv@2" and page["share"] is None
    pinned = client.get("/api/name", params={"ref": "org/runs/t.csv@1"}).json()
    assert pinned["record"]["message"] == "first" and len(pinned["versions"]) == 2


def test_a_deleted_names_page_shows_its_delete_marker_and_history(cat: Catalog,
                                                                     client: TestClient) -> None:
    cat.rm("eos://org/runs/t.csv")
    cat.undelete("eos://org/runs/t.csv")
    cat.rm("eos://org/runs/t.csv")
    page = client.get("/api/name", params={"ref": "org/runs/t.csv"}).json()
    assert page["record"]["kind"] == "delete" and page["download"] is None
    assert [v["kind"] for v in page["versions"]] == ["delete", "undelete", "delete", "put",
                                                     "put"]
    assert page["versions"][1]["source_version"] == 2


def test_a_delete_markers_own_ref_is_its_page(cat: Catalog, client: TestClient) -> None:
    cat.rm("eos://org/runs/t.csv", message="retracted")
    cat.undelete("eos://org/runs/t.csv")
    got = client.get("/api/name", params={"ref": "org/runs/t.csv@3"})
    assert got.status_code == 200, got.text
    page = got.json()
    assert page["record"]["ref"] == "org/runs/t.csv@3"
    assert page["record"]["kind"] == "delete" and page["record"]["message"] == "retracted"
    assert [v["kind"] for v in page["versions"]] == ["undelete", "delete", "put", "put"]
    assert page["snippets"] == {} and page["download"] is None and page["share"] is None
    # A readable version, a version that never was and a marker's raw bytes stay as they were.
    assert client.get("/api/name", params={"ref": "org/runs/t.csv@4"}).json()["record"][
        "kind"] == "undelete"
    missing = client.get("/api/name", params={"ref": "org/runs/t.csv@9"})
    assert missing.status_code == 404 and "no version 9" in missing.json()["error"]
    assert client.get("/api/raw", params={"ref": "org/runs/t.csv@3"}).status_code == 404


def test_raw_streams_the_bytes_as_an_attachment(client: TestClient, cat: Catalog) -> None:
    got = client.get("/api/raw", params={"ref": "org/runs/t.csv@1"})
    assert got.content == b"a,b\n1,2\n"
    assert got.headers["content-disposition"].startswith('attachment; filename="t.csv"')
    assert got.headers["content-type"] == "application/octet-stream"
    hostile = client.get("/api/raw", params={"ref": f"org/runs/{HOSTILE}"})
    assert hostile.content == b"h,i\n"
    assert "<" not in hostile.headers["content-disposition"].split("filename*")[0]


def test_raw_shows_an_image_inline_only_when_asked(cat: Catalog, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
    cat.put_bytes(png, "eos://org/p.png")
    cat.put_bytes(b"<svg onload=alert(1)/>", "eos://org/p.svg")
    client = make_client(cat, tmp_path)
    inline = client.get("/api/raw", params={"ref": "org/p.png", "inline": "1"})
    assert inline.headers["content-type"] == "image/png" and inline.content == png
    assert inline.headers["content-disposition"].startswith("inline")
    svg = client.get("/api/raw", params={"ref": "org/p.svg", "inline": "1"})
    assert svg.headers["content-disposition"].startswith("attachment")
    assert svg.headers["content-type"] == "application/octet-stream"


def test_a_large_file_streams_in_verified_chunks(cat: Catalog, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from eoscatalog.ui import names
    monkeypatch.setattr(names, "CHUNK", 64 * 1024)
    data = bytes(range(256)) * 4 * 1024 * 3  # 3 MiB: has an outboard, read by range
    cat.put_bytes(data, "eos://org/big.bin")
    got = make_client(cat, tmp_path).get("/api/raw", params={"ref": "org/big.bin"})
    assert got.content == data and got.headers["content-length"] == str(len(data))


def test_previews_of_a_csv_and_a_parquet_file(cat: Catalog, client: TestClient) -> None:
    csv = client.get("/api/preview", params={"ref": "org/runs/t.csv@1"}).json()
    assert csv["kind"] == "table" and csv["rows"] == [["1", "2"]]
    assert [c["name"] for c in csv["columns"]] == ["a", "b"]
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": list(range(1000)), "y": ["v"] * 1000}), buffer)
    cat.put_bytes(buffer.getvalue(), "eos://org/t.parquet")
    parquet = client.get("/api/preview", params={"ref": "org/t.parquet"}).json()
    assert parquet["kind"] == "parquet" and parquet["details"]["num_rows"] == 1000
    assert parquet["rows"][0] == ["0", "v"]


def test_a_zarr_folder_previews_its_metadata(cat: Catalog, client: TestClient) -> None:
    cat.put_many([(b'{"zarr_format": 2}', "eos://org/x.zarr/.zgroup"),
                  (b'{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<f8", '
                   b'"compressor": null, "fill_value": 0, "filters": null, "order": "C"}',
                   "eos://org/x.zarr/t/.zarray"),
                  (b"\0" * 16, "eos://org/x.zarr/t/0")])
    found = client.get("/api/preview", params={"ref": "org/x.zarr/"}).json()
    assert found["kind"] == "zarr"
    assert [(a["path"], a["shape"]) for a in found["details"]["arrays"]] == [("t", [4])]
    assert client.get("/api/preview", params={"ref": "org/runs/"}).status_code == 400


def test_a_folders_history_has_its_versions_and_changesets(cat: Catalog,
                                                           client: TestClient) -> None:
    found = client.get("/api/history", params={"path": "org/runs/"}).json()
    assert [v["version"] for v in found["folder_versions"]] == [4, 3, 2, 1]
    assert found["folder_versions"][-1]["message"] == "first"
    assert found["folder_versions"][0]["ref"] == "org/runs@4/"
    assert found["folder_versions"][0]["summary"] == "+1 ~0 -0"
    assert found["folder_versions"][0]["digest"] == cat.folders.digest(
        cat.folders.snapshot("eos://org/runs/"))
    root = client.get("/api/history", params={"path": "org/"}).json()["folder_versions"]
    assert root[0]["ref"] == "org@4/" and root[-1]["digest"].startswith("blake3:")
    assert found["events"][0]["names"] == [f"org/runs/{HOSTILE}@1"]
    assert found["events"][-1]["kinds"] == ["put"] and found["events"][-1]["seq"] == 1
    empty = client.get("/api/history", params={"path": "org/nothing/"}).json()
    assert empty["folder_versions"] == [] and empty["events"] == []


def test_a_diff_of_two_versions_has_their_text_diff_and_table_diff(client: TestClient) -> None:
    found = client.get("/api/diff", params={"a": "org/runs/t.csv@1",
                                            "b": "org/runs/t.csv@2"}).json()
    assert found["kind"] == "name" and found["same"] is False
    assert found["a"]["version"] == 1 and found["b"]["version"] == 2
    assert "-1,2\n+1,3\n" in found["text"]
    assert found["table"]["rows"] == {"old": 1, "new": 1, "delta": 0}


def test_a_diff_of_two_folders_lists_what_was_added_removed_and_changed(
        client: TestClient) -> None:
    found = client.get("/api/diff", params={"a": "org/runs@1/", "b": "org/runs/"}).json()
    assert found["kind"] == "folder" and found["unchanged"] == 0
    assert sorted(r["name"] for r in found["added"]) == ["runs/<img src=x onerror=alert(1)>.csv",
                                                         "runs/sub/n.txt"]
    assert [[a["version"], b["version"]] for a, b in found["changed"]] == [[1, 2]]
    assert found["removed"] == []
    mixed = client.get("/api/diff", params={"a": "org/runs/", "b": "org/runs/t.csv"})
    assert mixed.status_code == 400 and "compare like with like" in mixed.json()["error"]


def test_search_finds_names_tags_and_metadata(cat: Catalog, client: TestClient) -> None:
    cat.tag("eos://org/runs/t.csv@1", "paper-2026")
    found = client.get("/api/search", params={"q": "LIVER"}).json()
    assert [(r["ref"], r["matched"], r["detail"]) for r in found["results"]] == [
        ("org/runs/t.csv@2", "meta", "sample: liver")]
    tagged = client.get("/api/search", params={"q": "paper", "path": "org/"}).json()
    assert [r["ref"] for r in tagged["results"]] == ["org/runs/t.csv@1"]
    assert client.get("/api/search", params={"q": "notes", "path": "org/"}).json()[
        "results"] == []


def test_du_says_what_dedup_saved(cat: Catalog, client: TestClient) -> None:
    cat.put_bytes(b"a,b\n1,2\n", "eos://org/runs/copy.csv")  # the bytes of t.csv@1 again
    found = client.get("/api/du", params={"path": "org/runs/"}).json()
    assert found == {"path": "org/runs/", "names": 4, "versions": 5, "logical": 22,
                     "all_versions": 30, "stored": 22, "saved": 8}
    assert client.get("/api/du", params={"path": ""}).json()["names"] == 5


def test_a_share_link_on_a_local_store_is_a_clear_400(client: TestClient) -> None:
    found = client.get("/api/share", params={"ref": "org/runs/t.csv"})
    assert found.status_code == 400 and "need an S3 store" in found.json()["error"]


def test_a_share_link_on_s3_lasts_48_hours(s3_store: object, tmp_path: Path) -> None:
    from eoscatalog.store import S3Store
    assert isinstance(s3_store, S3Store)
    cat = Catalog(s3_store, tmp_path / "index.sqlite", user="ada")
    cat.put_bytes(b"shared", "eos://org/s.txt")
    client = make_client(cat, tmp_path)
    assert client.get("/api/info").json()["s3"] is True
    page = client.get("/api/name", params={"ref": "org/s.txt"}).json()
    assert page["share"] == "api/share?ref=org/s.txt@1"
    link = client.get("/" + page["share"]).json()
    assert "X-Amz-Expires=172800" in link["url"] and link["ref"] == "org/s.txt@1"
    assert datetime.strptime(link["expires"], "%Y-%m-%dT%H:%M:%SZ")
    import urllib.request
    with urllib.request.urlopen(link["url"]) as answer:
        assert answer.read() == b"shared"
    cat.close()


@pytest.mark.parametrize("ref", [
    "/etc/passwd", "file:///etc/passwd", "s3://bucket/key", "org/../../etc/passwd",
    "org/runs/../t.csv", "org/./t.csv", "..", "org\\runs\\t.csv", "org/t.csv\n", "",
    "https://example.com/x", "nonsense/x.csv"])
def test_refs_outside_the_catalog_are_refused(client: TestClient, ref: str) -> None:
    for route in ("name", "raw", "preview", "share"):
        found = client.get(f"/api/{route}", params={"ref": ref})
        assert found.status_code == 400, (route, ref, found.text)
        assert set(found.json()) == {"error"} and "\n" not in found.json()["error"]
    assert client.get("/api/tree", params={"path": ref + "/"}).status_code == 400


def test_errors_are_one_line_json_with_the_right_status(client: TestClient) -> None:
    missing = client.get("/api/name", params={"ref": "org/runs/none.csv"})
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    assert client.get("/api/name", params={"ref": "org/runs/t.csv@9"}).status_code == 404
    assert client.get("/api/name", params={"ref": "org/runs/t.csv@nope"}).status_code == 404
    assert client.get("/api/name").status_code == 400  # no ref
    assert client.get("/api/tree", params={"path": "org/runs"}).status_code == 400  # no '/'
    assert client.get("/api/nothing").status_code == 404
    assert "error" in client.get("/api/nothing").json()


def test_hostile_names_and_metadata_come_back_as_json_strings(client: TestClient) -> None:
    tree = client.get("/api/tree", params={"path": "org/runs/"})
    assert tree.headers["content-type"] == "application/json"
    hostile = tree.json()["files"][0]
    assert hostile["name"] == f"runs/{HOSTILE}"
    assert hostile["meta"] == {"k": "<img src=x onerror=alert(2)>"}
    page = client.get("/api/name", params={"ref": f"org/runs/{HOSTILE}"}).json()
    assert page["record"]["path"] == f"org/runs/{HOSTILE}"
    assert page["snippets"]["uri"] == f"eos://org/runs/{HOSTILE}@1"
    meta = client.get("/api/name", params={"ref": "org/runs/t.csv"}).json()["record"]["meta"]
    assert meta["<b>"] == "<script>alert(1)</script>"
    found = client.get("/api/search", params={"q": "onerror"}).json()["results"]
    assert {r["record"]["name"] for r in found} == {f"runs/{HOSTILE}"}


def test_a_slow_call_does_not_hold_up_the_others(cat: Catalog, client: TestClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real_du = cat.du

    def slow_du(prefix: str = "") -> object:
        assert release.wait(30)
        return real_du(prefix)

    monkeypatch.setattr(cat, "du", slow_du)
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(
        client.get("/api/du", params={"path": "org/"}).status_code))
    slow.start()
    time.sleep(0.2)
    assert client.get("/api/name", params={"ref": "org/runs/t.csv"}).status_code == 200
    assert answers == []  # the slow one is still running
    release.set()
    slow.join(30)
    assert answers == [200]


def test_a_damaged_blob_is_a_502_not_wrong_bytes(cat: Catalog, client: TestClient,
                                                 local_store: LocalStore) -> None:
    record = cat.resolve("eos://org/runs/t.csv@1")
    assert record.hash is not None
    digest = record.hash.split(":", 1)[1]
    blob = Path(local_store.root) / "blobs" / "blake3" / digest[:2] / digest
    blob.chmod(0o644)
    blob.write_bytes(b"a,b\n6,6\n")
    for route in ("raw", "preview"):
        answer = client.get(f"/api/{route}", params={"ref": "org/runs/t.csv@1"})
        assert answer.status_code == 502, route
        assert "blake3:" in answer.json()["error"] and b"6,6" not in answer.content

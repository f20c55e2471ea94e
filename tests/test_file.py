"""File, the SDK analyses use: lazy, cached, verified and reproducible, on every store."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import make_bucket

from eoscatalog import (
    BlobCache,
    Catalog,
    EFile,
    File,
    IntegrityError,
    InvalidNameError,
    NamedFile,
    NotFoundError,
    S3File,
    StoreError,
    URLFile,
    record_inputs,
    use_lock,
)
from eoscatalog.store import S3Store, Store, blob_key

T0 = datetime(2036, 6, 1, 12, 0, tzinfo=timezone.utc)  # ahead of the store's clock


def ticking(start: datetime = T0) -> Any:
    times = iter(start + timedelta(minutes=i) for i in range(100_000))
    return lambda: next(times)


@pytest.fixture
def cat(store: Store, tmp_path: Path) -> Iterator[Catalog]:
    c = Catalog(store, tmp_path / "index.sqlite", user="ada", cache=BlobCache(tmp_path / "cache"),
                clock=ticking())
    yield c
    c.index.close()


def cache_files(cat: Catalog) -> list[Path]:
    assert cat.cache is not None
    return [p for p in cat.cache.root.rglob("*") if p.is_file() and "locks" not in p.parts]


# -- construction ------------------------------------------------------------------------------


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError, match=r"remote=.*local="):
        File("x.csv")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x.txt", NamedFile(name="x.txt")),
        ("project-1/x.txt@3", NamedFile(name="project-1/x.txt@3")),
        ("eos://users/me/x.txt", EFile(path="eos://users/me/x.txt")),
        ("e://org/x.txt", EFile(path="e://org/x.txt")),
        ("s3://bucket/path/file.txt", S3File(path="s3://bucket/path/file.txt")),
        ("https://example.org/f.txt", URLFile(url="https://example.org/f.txt")),
    ],
)
def test_remote_strings_become_their_types(text: str, expected: object) -> None:
    assert File(remote=text).remote == expected
    assert File(remote=expected).remote == expected  # type: ignore[arg-type]
    assert repr(expected) in repr(File(remote=text))


@pytest.mark.parametrize("bad", ["ftp://host/x", "a/../b", "x@", "s3://bucket", "eos://nowhere/x"])
def test_bad_remotes_are_refused_at_once(bad: str) -> None:
    with pytest.raises(InvalidNameError):
        File(remote=bad)


def test_as_of_conflicts_with_a_pinned_remote() -> None:
    with pytest.raises(InvalidNameError, match="already pins"):
        File(remote="x.csv@3", as_of="2026-01-01")


def test_defaults_are_unique_temporary_places() -> None:
    a, b = File(), File(local="/tmp/data.csv")
    assert a.temporary and isinstance(a.remote, EFile)
    assert a.remote.path.startswith("eos://scratch/me/tmp/")
    assert b.remote.path.endswith("/data.csv")  # type: ignore[union-attr]
    assert a.local != File().local and not a.local.exists()


def test_making_a_file_does_no_io(s3_store: S3Store, s3_server: Any, tmp_path: Path) -> None:
    cat = Catalog(s3_store, tmp_path / "i.sqlite", user="ada")
    cat.put_bytes(b"data", "x.txt")
    s3_server.requests.clear()
    files = [
        File(remote="x.txt", catalog=cat), File(remote="eos://org/y@2", catalog=cat),
        File(remote="x.txt", as_of="2026-01-01", catalog=cat), File(catalog=cat),
        File(remote="s3://b/k", catalog=cat), File(remote="https://example.org/z", catalog=cat),
    ]
    text = [repr(f) + f._repr_html_() for f in files]
    assert all("File" in t for t in text)
    assert s3_server.requests.for_bucket(s3_store.bucket) == []


# -- downloads ---------------------------------------------------------------------------------


def test_download_goes_through_the_cache(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"v1", "p/x.csv")
    f = File(remote="p/x.csv", local=tmp_path / "out" / "x.csv", catalog=cat)
    assert f.download() == tmp_path / "out" / "x.csv"
    assert f.local.read_bytes() == b"v1" and f.version == 1
    assert len(cache_files(cat)) == 1
    # the same bytes under another name, and into another path: no second blob
    cat.copy("p/x.csv", "p/copy.csv")
    other = File(remote="eos://users/me/p/copy.csv", catalog=cat).download(tmp_path / "c.csv")
    assert other.read_bytes() == b"v1" and len(cache_files(cat)) == 1


def test_pinned_references_and_as_of(cat: Catalog, tmp_path: Path) -> None:
    for i in range(1, 4):
        cat.put_bytes(f"v{i}".encode(), "t.csv")  # 12:00, 12:01, 12:02 ... (ticking clock)
    cat.tag("t.csv@2", "paper-2026")
    v1 = cat.resolve("t.csv@1")

    def read(**kw: Any) -> bytes:
        return File(catalog=cat, local=tmp_path / "r", **kw).download().read_bytes()

    assert read(remote="t.csv") == b"v3"
    assert read(remote="t.csv@1") == b"v1"
    assert read(remote="e://users/ada/t.csv@paper-2026") == b"v2"
    assert read(remote=f"t.csv@{v1.hash[:20]}") == b"v1"  # type: ignore[index]
    created_v2 = datetime.fromisoformat(cat.resolve("t.csv@2").created.replace("Z", "+00:00"))
    assert read(remote="t.csv", as_of=created_v2 + timedelta(seconds=1)) == b"v2"
    assert read(remote="t.csv", as_of=created_v2.isoformat()) == b"v2"
    f = File(remote="t.csv@paper-2026", catalog=cat)
    assert (f.version, f.size) == (2, 2) and f.hash.startswith("blake3:")
    assert [r.version for r in f.versions()] == [1, 2, 3]


def test_a_corrupt_blob_leaves_nothing_behind(cat: Catalog, store: Store, tmp_path: Path) -> None:
    record = cat.put_bytes(b"the real bytes", "x.bin").record
    assert record.hash is not None
    store.put(blob_key(record.hash), b"tampered")
    local = tmp_path / "dl" / "x.bin"
    with pytest.raises(IntegrityError) as info:
        File(remote="x.bin", local=local, catalog=cat).download()
    assert info.value.expected == record.hash
    assert not local.exists() and cache_files(cat) == []
    assert not local.parent.exists() or list(local.parent.iterdir()) == []


def test_a_deleted_remote_says_how_to_undelete(cat: Catalog) -> None:
    cat.put_bytes(b"x", "gone.txt")
    cat.rm("gone.txt")
    with pytest.raises(NotFoundError, match="eos undelete"):
        File(remote="gone.txt", catalog=cat).download()


# -- uploads, temporary files, promote ------------------------------------------------------------


def test_upload_makes_versions_and_dedups(cat: Catalog, tmp_path: Path) -> None:
    local = tmp_path / "table.csv"
    local.write_bytes(b"a,b\n")
    f = File(remote="project-1/table.csv", local=local, catalog=cat)
    assert f.upload().version == 1  # type: ignore[union-attr]
    assert f.upload().version == 1  # type: ignore[union-attr]  # unchanged: no new version
    local.write_bytes(b"a,b\n1,2\n")
    assert f.upload().version == 2  # type: ignore[union-attr]
    assert cat.read_bytes("project-1/table.csv") == b"a,b\n1,2\n"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        File(remote="x", local=tmp_path / "missing", catalog=cat).upload()
    with pytest.raises(InvalidNameError, match="pins a version"):
        File(remote="project-1/table.csv@1", local=local, catalog=cat).upload()


def test_temporary_remote_expires_and_promote_keeps_it(cat: Catalog, tmp_path: Path) -> None:
    f = File(local=tmp_path / "result.parquet", catalog=cat)
    f.local.write_bytes(b"intermediate")
    record = f.upload()
    assert record is not None and record.namespace == "scratch/ada" and record.expires
    kept = f.promote("results/final.parquet")
    assert kept.kind == "copy" and kept.hash == record.hash and kept.expires is None
    assert f.remote == NamedFile(name="results/final.parquet") and not f.temporary
    assert cat.read_bytes("results/final.parquet") == b"intermediate"


def test_shareable_uri_names_the_user(cat: Catalog) -> None:
    assert File(remote="p/x.csv", catalog=cat).shareable_uri == "eos://users/ada/p/x.csv"
    assert File(remote="e://users/me/y@3", catalog=cat).shareable_uri == "eos://users/ada/y@3"
    assert File(remote="s3://b/k", catalog=cat).shareable_uri == "s3://b/k"


# -- links ---------------------------------------------------------------------------------------


def test_presigned_links_serve_the_exact_bytes(s3_store: S3Store, tmp_path: Path) -> None:
    cat = Catalog(s3_store, tmp_path / "i.sqlite", user="ada")
    data = os.urandom(300_000)
    cat.put_bytes(data, "share/me.bin")
    f = File(remote="share/me.bin", catalog=cat)
    link = f.url()
    assert "X-Amz-Expires=172800" in link and "X-Amz-Signature=" in link
    with urllib.request.urlopen(link, timeout=30) as response:  # the server on 127.0.0.1
        assert response.read() == data
    assert "X-Amz-Expires=3600" in f.url(expires="1h")
    assert "X-Amz-Expires=604800" in f.url(expires="7d")
    with pytest.raises(InvalidNameError, match="7 days"):
        f.url(expires="8d")
    # a link fetched through File(remote=https://...) is checked and lands at local
    got = File(remote=link, local=tmp_path / "via-link.bin").download()
    assert got.read_bytes() == data


def test_local_store_links_are_file_urls(local_store: Store, tmp_path: Path) -> None:
    cat = Catalog(local_store, ":memory:", user="ada")
    cat.put_bytes(b"here", "x.txt")
    link = File(remote="x.txt", catalog=cat).url()
    assert link.startswith("file:///")
    with urllib.request.urlopen(link) as response:
        assert response.read() == b"here"


# -- plain S3 and URL remotes ---------------------------------------------------------------------


def test_s3_remotes_download_and_upload_plainly(
    s3_server: Any, s3_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    bucket = make_bucket(s3_client)
    s3_client.put_object(Bucket=bucket, Key="raw/reads.txt", Body=b"ACGT" * 1000)
    f = File(remote=f"s3://{bucket}/raw/reads.txt", local=tmp_path / "reads.txt")
    assert f.download().read_bytes() == b"ACGT" * 1000
    out = tmp_path / "out.txt"
    out.write_bytes(b"results")
    assert File(remote=f"s3://{bucket}/out/results.txt", local=out).upload() is None
    body = s3_client.get_object(Bucket=bucket, Key="out/results.txt")["Body"].read()
    assert body == b"results"
    with pytest.raises(NotFoundError, match="no object"):
        File(remote=f"s3://{bucket}/nope.txt", local=tmp_path / "n").download()
    assert not (tmp_path / "n").exists()


def test_url_remotes_check_what_the_server_promises(tmp_path: Path) -> None:
    import http.server
    import threading

    payload = b"x" * 10_000

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = payload if self.path == "/ok" else payload[:100]
            self.send_response(200 if self.path != "/missing" else 404)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.path != "/missing":
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert File(remote=f"{base}/ok", local=tmp_path / "ok").download().read_bytes() == payload
        with pytest.raises((IntegrityError, StoreError)):
            File(remote=f"{base}/short", local=tmp_path / "short").download()
        assert not (tmp_path / "short").exists()
        with pytest.raises(NotFoundError, match="404"):
            File(remote=f"{base}/missing", local=tmp_path / "m").download()
        with pytest.raises(StoreError, match="read-only"):
            (tmp_path / "up").write_bytes(b"x")
            File(remote=f"{base}/ok", local=tmp_path / "up").upload()
    finally:
        server.shutdown()


# -- reproducible inputs -------------------------------------------------------------------------


def test_lock_round_trip(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"samples v1", "eos://org/samples.csv")
    cat.put_bytes(b"genome v1", "ref/genome.fa")
    lock = tmp_path / "inputs.lock"

    def analysis() -> bytes:
        a = File(remote="eos://org/samples.csv", local=tmp_path / "a", catalog=cat).download()
        b = File(remote="ref/genome.fa", local=tmp_path / "b", catalog=cat).download()
        return a.read_bytes() + b"|" + b.read_bytes()

    with record_inputs(lock):
        first = analysis()
    assert first == b"samples v1|genome v1"
    cat.put_bytes(b"samples v2", "eos://org/samples.csv")  # latest moves upstream
    assert analysis() == b"samples v2|genome v1"
    with use_lock(lock):
        assert analysis() == first  # the rerun gets the old bytes
        with pytest.raises(NotFoundError, match="not in the active lock"):
            File(remote="eos://org/other.csv", catalog=cat).download()
    assert analysis() == b"samples v2|genome v1"  # the lock is off again


def test_eos_lock_variable_pins_every_file(
    cat: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cat.put_bytes(b"old", "x.csv")
    lock = tmp_path / "eos.lock"
    with record_inputs(lock):
        File(remote="x.csv", catalog=cat).resolve()
    cat.put_bytes(b"new", "x.csv")
    monkeypatch.setenv("EOS_LOCK", str(lock))
    assert File(remote="x.csv", local=tmp_path / "x", catalog=cat).download().read_bytes() == b"old"
    with pytest.raises(Exception, match="lock pins"):
        File(remote="x.csv@2", catalog=cat).download()


# -- execute -------------------------------------------------------------------------------------


def test_execute_uses_the_shebang_or_sh(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(f"#!{sys.executable}\nimport sys; print('py', *sys.argv[1:])\n".encode(),
                  "scripts/hello.py")
    cat.put_bytes(b'echo "sh $1 $2"\n', "scripts/hello.sh")
    py = File(remote="scripts/hello.py", local=tmp_path / "hello.py", catalog=cat)
    result = py.execute("a", "b", capture_output=True)
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 0 and result.stdout == "py a b\n"
    sh = File(remote="scripts/hello.sh", local=tmp_path / "hello.sh", catalog=cat)
    assert sh.execute("x", "y", capture_output=True).stdout == "sh x y\n"


def test_a_link_outliving_its_credentials_warns(
    s3_store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eoscatalog import EosWarning

    cat = Catalog(s3_store, tmp_path / "i.sqlite", user="ada")
    cat.put_bytes(b"x", "x.bin")
    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    monkeypatch.setattr(s3_store, "credentials_expire_at", lambda: soon)
    with pytest.warns(EosWarning, match="credentials that signed it expire"):
        File(remote="x.bin", catalog=cat).url(expires="48h")
    File(remote="x.bin", catalog=cat).url(expires="30m")  # ends before them: no warning


def test_materialized_files_are_independent_or_read_only(cat: Catalog, tmp_path: Path) -> None:
    """As root a hardlink could let in-place writes damage the cache entry: it is a copy then."""
    from eoscatalog.local.materialize import materialize

    cat.put_bytes(b"cached bytes", "m.bin")
    entry = cat.cache.fetch(cat.resolve("m.bin").hash, cat.store)  # type: ignore[union-attr, arg-type]
    how = materialize(entry, tmp_path / "a.bin", allow_hardlink=False)
    assert how in ("reflink", "copy")
    (tmp_path / "a.bin").chmod(0o644)
    (tmp_path / "a.bin").write_bytes(b"changed")
    assert entry.read_bytes() == b"cached bytes"
    assert materialize(entry, tmp_path / "b.bin", allow_hardlink=True) in ("reflink", "hardlink")
    assert (tmp_path / "b.bin").read_bytes() == b"cached bytes"


# -- review regressions: locks, outputs, names, local copies -------------------------------------


def test_editing_a_download_never_changes_the_cache(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"original\n", "a.txt")
    f = File(remote="a.txt", local=tmp_path / "a.txt", catalog=cat)
    f.download()
    with open(f.local, "r+b") as handle:  # an in-place edit, as an editor's :w! does
        handle.write(b"CORRUPT!")
    other = File(remote="a.txt", local=tmp_path / "again.txt", catalog=cat).download()
    assert other.read_bytes() == b"original\n"


def test_promoted_outputs_are_not_recorded_as_inputs(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"input", "in.csv")
    lock = tmp_path / "run.lock"

    def analysis() -> None:
        data = File(remote="in.csv", local=tmp_path / "in.csv", catalog=cat).download()
        out = File(local=tmp_path / "out.txt", catalog=cat)
        out.local.write_bytes(data.read_bytes().upper())
        out.upload()
        out.promote("results/out.txt")

    with record_inputs(lock):
        analysis()
    assert "scratch" not in lock.read_text() and "in.csv" in lock.read_text()
    with use_lock(lock):
        analysis()  # the rerun under the lock works: outputs are not inputs


def test_tags_and_hash_prefixes_under_a_lock(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"g1", "g.fa")
    cat.tag("g.fa@1", "prod")
    lock = tmp_path / "l.lock"
    with record_inputs(lock):
        File(remote="g.fa@prod", catalog=cat).resolve()
    cat.put_bytes(b"g2", "g.fa")
    cat.tag("g.fa@2", "prod", force=True)
    cat.rollback("g.fa", 1)  # version 3 holds version 1's bytes
    with use_lock(lock):
        assert File(remote="g.fa@prod", local=tmp_path / "g", catalog=cat).download(
        ).read_bytes() == b"g1"
        h = cat.resolve("g.fa@1").hash
        assert File(remote=f"g.fa@{h[:16]}", catalog=cat).resolve().version == 1  # type: ignore[index]


def test_odd_local_names_make_valid_temporary_remotes(cat: Catalog, tmp_path: Path) -> None:
    for name in ("plot@2x.png", "data@final.csv", "a#b?.txt"):
        f = File(local=tmp_path / name, catalog=cat)
        f.local.write_bytes(b"x")
        assert f.upload() is not None


def test_properties_describe_the_downloaded_bytes(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"v1", "p.csv")
    f = File(remote="p.csv", local=tmp_path / "p.csv", catalog=cat)
    f.download()
    cat.put_bytes(b"version two", "p.csv")
    assert (f.version, f.size) == (1, 2)  # what is at f.local
    assert f.resolve().version == 2  # looking again


def test_download_into_a_folder_and_as_of_rules(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"x", "deep/name.csv")
    folder = tmp_path / "dl"
    folder.mkdir()
    got = File(remote="deep/name.csv", catalog=cat).download(folder)
    assert got == folder / "name.csv" and got.read_bytes() == b"x"
    with pytest.raises(InvalidNameError, match="outside the catalog"):
        File(remote="s3://b/k", as_of="2026-01-01")
    naive = datetime(2026, 6, 1, 12, 0)  # local time, as datetime.now() gives
    assert File(remote="x", as_of=naive).as_of == naive.astimezone(timezone.utc)


def test_url_downloads_ignore_opaque_etags_and_report_short_bodies(tmp_path: Path) -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.send_header("ETag", '"0123456789abcdef0123456789abcdef"')  # opaque, not MD5
            self.end_headers()
            self.wfile.write(b"y" * (100 if self.path == "/ok" else 40))

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        ok = File(remote=f"{base}/ok", local=tmp_path / "ok").download()
        assert ok.read_bytes() == b"y" * 100
        with pytest.raises(StoreError, match="broke off"):
            File(remote=f"{base}/short", local=tmp_path / "short").download()
        assert not (tmp_path / "short").exists()
    finally:
        server.shutdown()

"""File as the seed guides use it: Gencove Explorer's temporary files, ``f.url``,
``path_e_shareable``, and the older ``File(name=..., path_local=...)`` with ``.as_local()``.

Each test follows a snippet of /work/shared/seeds (the Gencove Explorer storage guides), with
the shell lines (``!echo 123 > {f.local}``) run through a real shell.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from eoscatalog import (
    BlobCache,
    Catalog,
    EFile,
    EosWarning,
    File,
    InvalidNameError,
    NamedFile,
    StoreError,
)
from eoscatalog.sdk.temp_paths import STALE_AFTER, temp_root
from eoscatalog.store import S3Store, Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmpdir_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private TMPDIR for the test (tempfile caches it: set both)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def cat(store: Store, tmp_path: Path, tmpdir_: Path) -> Iterator[Catalog]:
    c = Catalog(store, tmp_path / "index.sqlite", user="ada", cache=BlobCache(tmp_path / "cache"))
    yield c
    c.index.close()


def shell(line: str) -> None:
    """A notebook's ``!line``."""
    subprocess.run(["/bin/sh", "-c", line], check=True)


# -- temporary local files (the guide's "Temporary files" section) --------------------------------


def test_a_temporary_local_can_be_written_as_given_then_uploaded(
    cat: Catalog, tmpdir_: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    # "To create a temporary local file, exclude the local parameter"
    f = File(remote="e://users/me/project-1/file.txt", catalog=cat)
    shell(f"echo 123 > {f.local}")
    record = f.upload()
    assert record is not None and record.uri == "eos://users/ada/project-1/file.txt@1"
    assert cat.read_bytes("project-1/file.txt") == b"123\n"
    # "To create a file that is temporary both locally and remotely, exclude all parameters"
    g = File(catalog=cat)
    shell(f"echo 123 > {g.local}")
    done = g.upload()
    assert done is not None and done.namespace == "scratch/ada" and done.expires
    assert isinstance(g.remote, EFile) and g.remote.path.startswith("eos://scratch/me/tmp/")
    # where they live: a private per-user folder under TMPDIR, one folder each, never cwd
    for path in (f.local, g.local):
        assert path.parent.parent == tmpdir_ / f"eoscatalog-{os.getuid()}"
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(temp_root().stat().st_mode) == 0o700
    assert f.local.name == "file.txt" and f.local.parent != g.local.parent
    assert list(cwd.iterdir()) == []


def test_a_temporary_download_lands_in_its_folder(cat: Catalog) -> None:
    cat.put_bytes(b"reads", "project-1/reads.fq")
    f = File(remote="project-1/reads.fq", catalog=cat)
    path = f.download()
    assert path == f.local and path.read_bytes() == b"reads" and path.name == "reads.fq"


def test_making_a_file_creates_nothing_until_local_is_read(tmpdir_: Path) -> None:
    f = File(remote="x.txt")
    repr(f), f._repr_html_()
    assert list(tmpdir_.iterdir()) == []
    assert f.local.parent.is_dir() and not f.local.exists()


def test_a_temp_root_that_is_not_a_private_folder_is_refused(tmpdir_: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    temp_root().symlink_to(elsewhere)  # planted in a shared /tmp by someone else
    with pytest.raises(StoreError, match=r"not a folder.*TMPDIR"):
        _ = File().local
    assert list(elsewhere.iterdir()) == []
    temp_root().unlink()
    temp_root().mkdir(mode=0o777)
    os.chmod(temp_root(), 0o777)  # ours, but open to others: made private again
    _ = File().local
    assert stat.S_IMODE(temp_root().stat().st_mode) == 0o700


def test_stale_temporary_folders_are_pruned_and_recent_ones_kept(tmpdir_: Path) -> None:
    root = temp_root()
    root.mkdir(mode=0o700)
    old = time.time() - STALE_AFTER - 3600
    stale, busy, other = root / ("a" * 16), root / ("b" * 16), root / "keep-me"
    for folder in (stale, busy, other):
        folder.mkdir()
        (folder / "data.bin").write_bytes(b"x")
        os.utime(folder / "data.bin", (old, old))
        os.utime(folder, (old, old))
    os.utime(busy / "data.bin")  # written just now: in use
    _ = File().local
    assert not stale.exists() and busy.exists() and other.exists()


def test_empty_temporary_folders_go_when_the_process_exits(tmp_path: Path) -> None:
    code = (
        "from eoscatalog import File\n"
        "unused, used = File(), File(remote='x.csv')\n"
        "used.local.write_text('kept')\n"
        "print(unused.local); print(used.local)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    unused, used = map(Path, done.stdout.split())
    assert not unused.parent.exists()
    assert used.read_text() == "kept"


# -- links, sharing ("Generating URLs", "Sharing files within your organization") ----------------


def test_url_reads_as_a_property_and_is_still_callable(local_store: Store, tmpdir_: Path) -> None:
    cat = Catalog(local_store, ":memory:", user="ada")
    f = File(local=tmpdir_ / "file.txt", catalog=cat)
    shell(f'echo "URL example" > {f.local}')
    f.upload()
    link = f.url  # the guide: print(f.url)
    assert isinstance(link, str) and link.startswith("file:///")
    with urllib.request.urlopen(link) as response:
        assert response.read() == b"URL example\n"
    assert f.url() == link and f.url(expires="1h") == link and f"{f.url}" == link
    assert json.loads(json.dumps({"url": f.url})) == {"url": link}
    assert pickle.loads(pickle.dumps(f.url)) == link
    with pytest.raises(InvalidNameError, match="7 days"):
        f.url(expires="8d")
    with pytest.raises(InvalidNameError, match="outside the catalog"):
        _ = File(remote="s3://b/k").url
    web = "https://example.org/data.csv"
    assert File(remote=web).url == web and File(remote=web).url(expires="1h") == web


def test_url_on_s3_signs_48_hours_and_the_call_form_its_own_expiry(
    s3_store: S3Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cat = Catalog(s3_store, tmp_path / "i.sqlite", user="ada")
    data = os.urandom(1000)
    cat.put_bytes(data, "share/me.bin")
    f = File(remote="share/me.bin", catalog=cat)
    assert "X-Amz-Expires=172800" in f.url
    assert "X-Amz-Expires=3600" in f.url(expires="1h")
    with urllib.request.urlopen(f.url, timeout=30) as response:
        assert response.read() == data
    # credentials that end in an hour: the 48-hour link warns when shown, a 30-minute one never
    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    monkeypatch.setattr(s3_store, "credentials_expire_at", lambda: soon)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        short = f.url(expires="30m")
        print(short, f"{short}")
    link = f.url
    with pytest.warns(EosWarning, match="credentials that signed it expire"):
        print(link)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        print(link)  # once per link


def test_path_e_shareable_is_the_shareable_uri(cat: Catalog) -> None:
    f = File(local="~/file.txt", remote="e://users/me/project-1/file.txt", catalog=cat)
    assert f.path_e_shareable == f.shareable_uri == "eos://users/ada/project-1/file.txt"
    assert File(remote="e://org/x.txt", catalog=cat).path_e_shareable == "eos://org/x.txt"


# -- the older guide: File(name=..., path_local=...), upload(), as_local() -------------------------


def test_the_older_name_and_path_local_keywords(cat: Catalog, tmp_path: Path) -> None:
    local = tmp_path / "example_file.txt"
    shell(f"touch {local}")
    example_file = File(name="example_file", path_local=str(local), catalog=cat)
    assert example_file.remote == NamedFile(name="example_file") and example_file.local == local
    record = example_file.upload()
    assert record is not None and record.name == "example_file" and record.size == 0
    local.write_text("more\n")
    assert example_file.upload().version == 2  # type: ignore[union-attr]

    example_file_from_cloud = File(name="example_file", catalog=cat)
    path = example_file_from_cloud.as_local()
    assert path == example_file_from_cloud.local and path.read_text() == "more\n"
    with pytest.raises(TypeError, match="both remote= and name="):
        File(remote="a", name="b")
    with pytest.raises(TypeError, match="both local= and path_local="):
        File(local="a", path_local="b")


def test_a_links_pending_warning_is_given_once_when_shown_and_dropped_when_called() -> None:
    from eoscatalog.sdk.links import Link

    for show in (str, repr, "{}".format, lambda link: f"{link:>5}"):
        link = Link("https://x", lambda expires: Link(f"https://x?{expires}", None), ["ends early"])
        with pytest.warns(EosWarning, match="ends early"):
            show(link)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            show(link)
    called = Link("https://x", lambda expires: Link(f"https://x?{expires}", None), ["ends early"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert str(called(expires="1h")) == "https://x?1h"
        assert str(called) == "https://x"  # its warning was for the link not used

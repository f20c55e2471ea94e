"""``eos get`` and ``Catalog.get`` to a path write the bytes once: streamed from the store into a
temp file beside the path, verified while written, renamed into place. Nothing enters the
download cache (it keeps serving ``File`` and ``eos://`` reads); a blob it already holds is
copied from it, verified, with no byte read from the store. A corrupt blob raises
IntegrityError and leaves the path as it was; a killed get leaves no torn file at the path.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eoscatalog import BlobCache, Catalog, File
from eoscatalog.core.errors import IntegrityError
from eoscatalog.core.faults import CRASH_EXIT
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.core.tempfiles import TEMP_PREFIX
from eoscatalog.store import Store, blob_key

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024


def cache_bytes(root: Path) -> int:
    """Every byte of every file under a cache root (entries, temp files, locks alike)."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


@pytest.fixture
def cached_catalog(store: Store, tmp_path: Path) -> Iterator[Catalog]:
    """A catalog with a download cache, on each of the three stores."""
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada", cache=BlobCache(tmp_path / "c"))
    yield cat
    cat.close()


def test_a_get_to_a_path_adds_no_byte_to_the_cache(cached_catalog: Catalog,
                                                   tmp_path: Path) -> None:
    data = random.Random(1).randbytes(6 * MiB + 5)  # large enough to have an outboard
    cached_catalog.put_bytes(data, "big.bin")
    seen: list[int] = []
    out = cached_catalog.get("big.bin", tmp_path / "out" / "big.bin", on_bytes=seen.append)
    assert out.read_bytes() == data and sum(seen) == len(data)
    assert cache_bytes(tmp_path / "c") == 0
    assert [p.name for p in out.parent.iterdir()] == ["big.bin"]  # no temp file left
    # File reads still go through the cache: a second download of the bytes reads none.
    got = File(remote="big.bin", catalog=cached_catalog).download(tmp_path / "f.bin")
    assert got.read_bytes() == data and cache_bytes(tmp_path / "c") == len(data)


def test_a_blob_the_cache_holds_is_copied_from_it_not_downloaded(cached_catalog: Catalog,
                                                                  tmp_path: Path) -> None:
    h = cached_catalog.put_bytes(b"kept", "a.txt").record.hash
    assert h is not None
    cached_catalog.cached("a.txt")  # in the cache now
    cached_catalog.store.delete(blob_key(h))  # so a download would fail
    assert cached_catalog.get("a.txt", tmp_path / "a.txt").read_bytes() == b"kept"
    assert cache_bytes(tmp_path / "c") == 4


def test_an_edited_cache_entry_never_reaches_the_path(cached_catalog: Catalog,
                                                      tmp_path: Path) -> None:
    h = cached_catalog.put_bytes(b"the real bytes", "a.txt").record.hash
    assert h is not None
    _, entry = cached_catalog.cached("a.txt")
    entry.chmod(0o644)
    entry.write_bytes(b"the edited ones")
    entry.chmod(0o444)
    assert cached_catalog.get("a.txt", tmp_path / "a.txt").read_bytes() == b"the real bytes"
    assert not entry.exists()  # the edited entry is gone; the get did not cache the blob


@pytest.mark.parametrize("size", [40, 6 * MiB])
def test_a_corrupt_blob_raises_and_leaves_the_old_file_and_no_other(
        cached_catalog: Catalog, tmp_path: Path, size: int) -> None:
    data = random.Random(2).randbytes(size)
    h = cached_catalog.put_bytes(data, "a.bin").record.hash
    assert h is not None
    rot = data[:-1] + bytes([data[-1] ^ 1])
    cached_catalog.store.put(blob_key(h), rot)
    dest = tmp_path / "out" / "a.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"what was here before")
    before = dest.stat().st_ino
    with pytest.raises(IntegrityError) as info:
        cached_catalog.get("a.bin", dest)
    assert (info.value.expected, info.value.actual) == (h, hash_bytes(rot))
    assert h in str(info.value) and hash_bytes(rot) in str(info.value)
    assert dest.read_bytes() == b"what was here before" and dest.stat().st_ino == before
    assert [p.name for p in dest.parent.iterdir()] == ["a.bin"]
    assert cache_bytes(tmp_path / "c") == 0


def eos(env: dict[str, str], *args: str, crash: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    extra = {"EOS_CRASH_AT": crash} if crash else {}
    return subprocess.run([sys.executable, "-m", "eoscatalog", *args],
                          env={**os.environ, **env, **extra}, capture_output=True, text=True,
                          timeout=120)


def test_eos_get_writes_the_bytes_once_and_a_killed_one_leaves_no_torn_file(
        tmp_path: Path) -> None:
    """The command line, on the embedded store: the cache under EOS_HOME gains no byte, and a
    get killed with its bytes written (not yet verified) leaves the old file whole."""
    home = tmp_path / "home"
    env = {"EOS_HOME": str(home), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    data = random.Random(3).randbytes(5 * MiB)
    (tmp_path / "big.bin").write_bytes(data)
    assert eos(env, "put", str(tmp_path / "big.bin"), "big.bin").returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    (out / "big.bin").write_bytes(b"the old file")
    crashed = eos(env, "get", "big.bin", str(out), crash="get.temp-written")
    assert crashed.returncode == CRASH_EXIT, crashed.stderr
    assert (out / "big.bin").read_bytes() == b"the old file"
    [partial] = [p for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]
    done = eos(env, "get", "big.bin", str(out))
    assert done.returncode == 0, done.stderr
    assert (out / "big.bin").read_bytes() == data
    assert not partial.exists()  # the next get into the folder removed what the dead one left
    assert not (home / "cache").exists() or cache_bytes(home / "cache") == 0

"""Folder locks: ``eos lock eos://org/x.zarr/`` pins a folder version in ONE entry; under the lock
every name under the folder reads as it was in that version, from every face, on the local
store and on S3; a rerun checks the digest; ``record_inputs`` records a folder read as one entry."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest

from eoscatalog import Catalog, File, LockFile, record_inputs, use_lock
from eoscatalog.core.errors import ConfigError, ConflictError, IntegrityError, NotFoundError
from eoscatalog.lock.folder_pin import LockedFolder
from eoscatalog.transfer.cp import run_cp
from eoscatalog.transfer.sync import run_sync

ROOT = Path(__file__).resolve().parent.parent


def _folder(cat: Catalog) -> LockFile:
    """eos://org/d/ with a.txt and sub/b.txt, locked at version 2; then a.txt@2, c.txt and a
    deleted sub/b.txt come after the lock."""
    cat.put_bytes(b"a1", "eos://org/d/a.txt")
    cat.put_bytes(b"b1", "eos://org/d/sub/b.txt")
    cat.put_bytes(b"elsewhere", "eos://org/other.txt")
    lock = LockFile()
    lock.pin_folder(cat.folders.pin("eos://org/d/"))
    cat.put_bytes(b"a2", "eos://org/d/a.txt")
    cat.put_bytes(b"c1", "eos://org/d/c.txt")
    cat.rm("eos://org/d/sub/b.txt")
    return lock


def test_the_pin_is_one_entry(cat: Catalog) -> None:
    lock = _folder(cat)
    [pin] = lock.folders
    assert (pin.namespace, pin.prefix, pin.version, pin.names) == ("org", "d/", 2, 2)
    assert pin.uri == "eos://org/d@2/" and len(lock.inputs) == 0
    assert pin.digest == cat.folders.digest(cat.folders.snapshot("eos://org/d@2/"))
    assert cat.folders.pin("eos://org/d@2/") == pin
    assert cat.folders.pin("eos://org/d/").version == 5


def test_names_under_a_locked_folder_read_the_pinned_version(cat: Catalog,
                                                             tmp_path: Path) -> None:
    lock = _folder(cat)
    with use_lock(lock):
        assert cat.cat("eos://org/d/a.txt") == b"a1"
        assert cat.resolve("eos://org/d/a.txt").uri == "eos://org/d/a.txt@1"
        assert cat.cat("eos://org/d/sub/b.txt") == b"b1"  # deleted after the lock
        assert cat.cat("eos://org/d/a.txt@1") == b"a1"  # a pinned reference that agrees
        assert cat.cat("eos://org/d@2/a.txt") == b"a1"
        assert File(remote="eos://org/d/a.txt").download(tmp_path / "a").read_bytes() == b"a1"
        with fsspec.open("eos://org/d/sub/b.txt", "rb") as f:
            assert f.read() == b"b1"
        with pytest.raises(NotFoundError, match="eos://org/d@2/"):
            cat.cat("eos://org/d/c.txt")  # added after the lock
        with pytest.raises(ConflictError, match="eos://org/d@2/"):
            cat.cat("eos://org/d/a.txt@2")
        with pytest.raises(NotFoundError, match="not in the active lock"):
            cat.cat("eos://org/other.txt")
        listing = cat.ls("eos://org/d/", recursive=True)
        assert [(r.name, r.version) for r in listing.files] == [("d/a.txt", 1),
                                                                ("d/sub/b.txt", 1)]
        assert list(cat.ls("eos://org/d/").folders) == ["d/sub/"]
        fs = fsspec.filesystem("eos")
        assert sorted(fs.ls("org/d", detail=False)) == ["org/d/a.txt", "org/d/sub"]
        assert fs.info("org/d")["type"] == "directory"
        # eos cp -r and eos sync download the pinned folder version.
        run_cp(cat, "eos://org/d/", str(tmp_path / "cp"), recursive=True)
        run_sync(cat, "eos://org/d/", str(tmp_path / "sync"))
        for out in ("cp", "sync"):
            got = sorted(p.relative_to(tmp_path / out).as_posix()
                         for p in (tmp_path / out).rglob("*") if p.is_file())
            assert got == ["a.txt", "sub/b.txt"], out
            assert (tmp_path / out / "a.txt").read_bytes() == b"a1"
    # A name pin inside the folder pin wins (the most specific).
    lock.pin(cat.resolve("eos://org/d/a.txt"))
    with use_lock(lock):
        assert cat.cat("eos://org/d/a.txt") == b"a2"
        assert cat.cat("eos://org/d/sub/b.txt") == b"b1"
        assert [r.version for r in cat.ls("eos://org/d/", recursive=True).files] == [2, 1]


def test_a_plain_folder_under_a_lock_means_its_pinned_version(cat: Catalog) -> None:
    lock = _folder(cat)
    latest = cat.folders.snapshot("eos://org/d/")
    assert latest.version == 5
    with use_lock(lock):
        assert cat.folders.snapshot("eos://org/d/").uri == "eos://org/d@2/"
        assert cat.folders.snapshot("eos://org/d/sub/").uri == "eos://org/d/sub@1/"
        assert cat.du("eos://org/d/").names == 2  # a.txt and sub/b.txt, as ls shows
        assert cat.folders.snapshot("eos://org/d@4/").version == 4  # a version says which
    assert cat.folders.snapshot("eos://org/d/") == latest


def test_nested_folder_pins_the_longest_prefix_wins(cat: Catalog) -> None:
    lock = _folder(cat)
    cat.put_bytes(b"b2", "eos://org/d/sub/b.txt")
    lock.pin_folder(cat.folders.pin("eos://org/d/sub/"))
    with use_lock(lock):
        assert cat.cat("eos://org/d/sub/b.txt") == b"b2"
        assert cat.cat("eos://org/d/a.txt") == b"a1"


def test_a_digest_or_seq_mismatch_is_found(cat: Catalog) -> None:
    lock = _folder(cat)
    [pin] = lock.folders
    for forged in (LockedFolder("org", "d/", 2, pin.seq, "blake3:" + "0" * 64, pin.names),
                   LockedFolder("org", "d/", 2, (pin.seq or 0) + 100, pin.digest, pin.names),
                   LockedFolder("org", "d/", 2, None, pin.digest, pin.names + 1)):
        bad = LockFile()
        bad.pin_folder(forged)
        with use_lock(bad), pytest.raises(IntegrityError, match="no longer gives"):
            cat.cat("eos://org/d/a.txt")
    missing = LockFile()
    missing.pin_folder(LockedFolder("org", "d/", 99, None, pin.digest, pin.names))
    with use_lock(missing), pytest.raises(IntegrityError, match="no longer has"):
        cat.cat("eos://org/d/a.txt")


def test_record_inputs_records_a_folder_read_as_one_entry(cat: Catalog,
                                                          tmp_path: Path) -> None:
    lock = _folder(cat)
    path = tmp_path / "inputs.lock"
    with record_inputs(path):
        assert cat.cat("eos://org/d@2/a.txt") == b"a1"
        assert cat.cat("eos://org/d@2/sub/b.txt") == b"b1"
        assert cat.cat("eos://org/d/a.txt@1") == b"a1"  # the folder's version: dropped
    recorded = LockFile.load(path)
    assert recorded.folders == lock.folders and recorded.inputs == ()
    with pytest.raises(ConflictError, match=re.escape("org/d@2/ and then eos://org/d/a.txt@2")), \
            record_inputs(tmp_path / "conflict.lock"):
        cat.cat("eos://org/d@2/a.txt")
        cat.cat("eos://org/d/a.txt")
    # A recursive download is one folder entry too; under a lock, its folder pin.
    with record_inputs(tmp_path / "cp.lock"):
        run_cp(cat, "eos://org/d/", str(tmp_path / "cp"), recursive=True)
    assert [f.uri for f in LockFile.load(tmp_path / "cp.lock").folders] == ["eos://org/d@5/"]
    with use_lock(lock), record_inputs(tmp_path / "locked.lock"):
        run_sync(cat, "eos://org/d/", str(tmp_path / "sync"))
        cat.cat("eos://org/d/a.txt")
    assert LockFile.load(tmp_path / "locked.lock") == lock


def test_lock_files_with_folders_round_trip_and_old_ones_load(tmp_path: Path) -> None:
    old = "format: 1\ninputs:\n- namespace: org\n  name: x\n  version: 1\n  hash: blake3:" \
        + "0" * 64 + "\n"
    assert [p.uri for p in LockFile.from_yaml(old)] == ["eos://org/x@1"]
    lock = LockFile.from_yaml(old)
    assert lock.to_yaml().splitlines()[1] == "format: 1"
    lock.pin_folder(LockedFolder("org", "x.zarr/", 3, 12, "blake3:" + "ab" * 32, 7))
    text = lock.to_yaml()
    assert "format: 2\n" in text and "folders:\n- uri: eos://org/x.zarr@3/\n" in text
    again = LockFile.load(lock.save(tmp_path / "eos.lock"))
    assert again == lock and again.folder_for("org", "x.zarr/a/0") == lock.folders[0]
    with pytest.raises(ConfigError, match="format 2"):
        LockFile.from_yaml(text.replace("format: 2", "format: 1"))
    with pytest.raises(ConfigError, match=r"folders\[0\].*prefix"):
        LockFile.from_yaml(text.replace("prefix: x.zarr/", "prefix: x.zarr"))
    with pytest.raises(ConflictError, match="one version per folder"):
        lock.pin_folder(LockedFolder("org", "x.zarr/", 4, 13, "blake3:" + "cd" * 32, 7))


def test_the_cli_locks_a_folder(cat: Catalog, tmp_path: Path,
                                request: pytest.FixtureRequest) -> None:
    _folder(cat)
    env = {**os.environ, "EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
           "PYTHONPATH": str(ROOT), "EOS_STORE": cat.store.url.rsplit("/", 1)[0],
           "EOS_ORG": "acme"}
    if cat.store.url.startswith("s3://"):
        env["AWS_ENDPOINT_URL"] = request.getfixturevalue("s3_server").endpoint_url

    def eos(*args: str, lock: Path | None = None) -> subprocess.CompletedProcess[str]:
        extra = {"EOS_LOCK": str(lock)} if lock else {}
        return subprocess.run([sys.executable, "-m", "eoscatalog", *args], env={**env, **extra},
                              capture_output=True, text=True, timeout=120)

    out = eos("lock", "eos://org/d@2/", "-o", str(tmp_path / "eos.lock"))
    assert out.returncode == 0, out.stderr
    assert "added      eos://org/d@2/  blake3:" in out.stdout
    [pin] = LockFile.load(tmp_path / "eos.lock").folders
    assert pin.uri == "eos://org/d@2/"
    read = eos("cat", "eos://org/d/a.txt", lock=tmp_path / "eos.lock")
    assert (read.returncode, read.stdout) == (0, "a1"), read.stderr
    missing = eos("cat", "eos://org/d/c.txt", lock=tmp_path / "eos.lock")
    assert missing.returncode != 0 and "eos://org/d@2/" in missing.stderr
    moved = eos("lock", "eos://org/d/", "-o", str(tmp_path / "eos.lock"))
    assert moved.returncode != 0 and "--update" in moved.stderr
    for ref, uri in [("eos://org/d@2", "eos://org/d@2/"),  # no name 'd': as with the '/'
                     ("eos://org/d", cat.folders.pin("eos://org/d/").uri)]:
        bare = eos("lock", ref, "-o", str(tmp_path / "bare.lock"), "--update")
        assert bare.returncode == 0, bare.stderr
        assert [p.uri for p in LockFile.load(tmp_path / "bare.lock").folders] == [uri]
    nothing = eos("lock", "eos://org/e", "-o", str(tmp_path / "none.lock"))
    assert nothing.returncode != 0 and "no name 'e' in org" in nothing.stderr


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_xarray_reads_the_locked_dataset_after_the_folder_moved_on(cat: Catalog,
                                                                   zarr_format: int) -> None:
    """The issue's rerun: a Zarr store locked, then appended to and overwritten; under the lock
    ``xr.open_zarr`` reads the dataset as it was when it was locked."""
    if sys.version_info < (3, 11):
        pytest.skip("zarr 3 needs Python 3.11 or later")
    np = pytest.importorskip("numpy")
    xr = pytest.importorskip("xarray")
    url = f"eos://org/runs/x{zarr_format}.zarr"
    options = {"zarr_format": zarr_format, "consolidated": zarr_format == 2}

    def dataset(seed: int) -> object:
        rng = np.random.default_rng(seed)
        return xr.Dataset({"t": (("time", "x"), rng.standard_normal((6, 4)))},
                          coords={"time": np.arange(6) + 10 * seed, "x": np.arange(4)})

    first = dataset(1)
    first.chunk({"time": 3}).to_zarr(url, mode="w", **options)
    lock = LockFile()
    lock.pin_folder(cat.folders.pin(url + "/"))
    dataset(2).chunk({"time": 3}).to_zarr(url, append_dim="time", **options)
    assert xr.open_zarr(url, **options).sizes["time"] == 12
    dataset(3).to_zarr(url, mode="w", **options)
    with use_lock(lock):
        xr.testing.assert_identical(xr.open_zarr(url, **options).load(), first)
    xr.testing.assert_identical(xr.open_zarr(url, **options).load(), dataset(3))

"""eoscatalog.core.fsio, the one way eoscatalog writes a file: a reader sees the old file or the new
one, never a half; a write that fails leaves no temp file; create-if-absent never replaces;
temp files are never opened through a planted symlink; and no other module makes its own temp
file beside a target."""

from __future__ import annotations

import ast
import errno
import itertools
import os
import secrets
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from eoscatalog.core import fsio
from eoscatalog.core.tempfiles import TEMP_PREFIX, is_stale_name, is_temp_name, temp_prefix

ROOT = Path(__file__).resolve().parent.parent
OLD, NEW = b"o" * (1 << 20), b"n" * (3 << 19)  # different sizes: a torn file shows


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def test_readers_see_the_old_file_or_the_new_one_never_a_half(tmp_path: Path) -> None:
    """A writer rewrites the file 200 times (two contents in turn) while a reader reads it as
    fast as it can: every read is one whole content."""
    target = tmp_path / "data.bin"
    fsio.atomic_write(target, OLD)
    done = threading.Event()
    seen: list[int] = []

    def read() -> None:
        while not done.is_set():
            data = target.read_bytes()
            seen.append(0 if data == OLD else 1 if data == NEW else 2)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(200):
            fsio.atomic_write(target, NEW if i % 2 == 0 else OLD)
    finally:
        done.set()
        reader.join()
    assert seen and 2 not in seen, f"{seen.count(2)} of {len(seen)} reads saw a torn file"
    assert leftovers(tmp_path) == []


def test_a_killed_writer_leaves_the_old_file_or_the_new_one(tmp_path: Path) -> None:
    """A process rewriting the file in a loop is killed (SIGKILL, no cleanup) mid-way: the
    file is whole, and what is left beside it is at most a temp file by its name."""
    target = tmp_path / "data.bin"
    script = (
        "import sys\nfrom eoscatalog.core.fsio import atomic_write\n"
        f"old, new = b'o' * {len(OLD)}, b'n' * {len(NEW)}\n"
        "for i in range(10**9):\n"
        "    atomic_write(sys.argv[1], new if i % 2 else old)\n"
        "    if i == 20: print('going', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen([sys.executable, "-c", script, str(target)], env=env,
                          stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == b"going\n"
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert target.read_bytes() in (OLD, NEW)
    assert [p.name for p in tmp_path.iterdir() if p != target and not is_temp_name(p.name)] == []


@pytest.mark.parametrize("fails", ["write", "fsync", "replace"])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str) -> None:
    """The disk fills after part of the bytes went out, the fsync fails, the rename fails."""
    target = tmp_path / "data.bin"
    fsio.atomic_write(target, OLD)
    real_write = os.write
    calls = itertools.count()

    def broken(*args: object) -> int:
        if fails == "write" and next(calls) == 0:
            return real_write(args[0], bytes(args[1])[:10])  # type: ignore[arg-type]
        raise OSError(errno.ENOSPC if fails == "write" else errno.EIO, "injected")

    monkeypatch.setattr(fsio.os, fails, broken)
    with pytest.raises(OSError, match="injected"):
        fsio.atomic_write(target, NEW)
    monkeypatch.undo()
    assert target.read_bytes() == OLD
    assert leftovers(tmp_path) == []


def test_an_error_inside_a_staged_block_removes_the_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "data.bin"
    with pytest.raises(RuntimeError), fsio.staged(target) as temp:
        temp.write(b"half")
        assert is_temp_name(Path(temp.path).name) and Path(temp.path).parent == target.parent
        raise RuntimeError("checks failed")
    assert not target.exists() and leftovers(target.parent) == []
    with fsio.staged(target) as temp:
        temp.write(b"never published")
    assert not target.exists() and leftovers(target.parent) == []


def test_link_if_absent_refuses_an_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    assert fsio.atomic_write(target, OLD, if_absent=True) is True
    assert fsio.atomic_write(target, NEW, if_absent=True) is False
    assert target.read_bytes() == OLD
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    assert fsio.atomic_write(dangling, NEW, if_absent=True) is False
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()
    assert leftovers(tmp_path) == []


def test_replace_swaps_a_symlink_at_the_target_never_writing_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.write_bytes(b"precious")
    target = tmp_path / "data"
    target.symlink_to(outside)
    fsio.atomic_write(target, NEW)
    assert not target.is_symlink() and target.read_bytes() == NEW
    assert outside.read_bytes() == b"precious"


def test_a_temp_name_held_by_a_planted_symlink_is_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / f"{temp_prefix()}{'0' * 16}").symlink_to(outside)
    names = iter(["0" * 16, "1" * 16])
    monkeypatch.setattr(secrets, "token_hex", lambda n=None: next(names))
    fd, path = fsio.open_temp(folder)
    os.write(fd, b"mine")
    os.close(fd)
    assert Path(path).name == f"{temp_prefix()}{'1' * 16}"
    assert outside.read_bytes() == b"precious"


def test_temp_names_and_modes(tmp_path: Path) -> None:
    """One name pattern (recognised, not stale while this process runs); the mode asked for
    (0o600 private, whatever the umask); chmod travels into place."""
    name = fsio.temp_name(tmp_path, "-abc").name
    assert name.startswith(temp_prefix()) and name.endswith("-abc")
    assert is_temp_name(name) and not is_stale_name(name)
    fsio.atomic_write(tmp_path / "private", b"x", mode=0o600)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
    with fsio.staged(tmp_path / "entry", mode=0o600) as temp:
        temp.write(b"x")
        temp.chmod(0o444)
        temp.replace()
    assert stat.S_IMODE((tmp_path / "entry").stat().st_mode) == 0o444


def test_durable_writes_fsync_file_and_folder_downloads_do_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(fsio.os, "fsync", fsync)
    fsio.atomic_write(tmp_path / "a", b"x")
    assert synced == ["file", "folder"]
    synced.clear()
    with fsio.staged(tmp_path / "b", durable=False) as temp:
        temp.write(b"x")
        temp.replace()
    assert synced == [] and (tmp_path / "b").read_bytes() == b"x"


# Calls that make a temp file beside a target, or name one: only fsio (and tempfiles, which
# owns the name) may make them.
_TEMP_MAKERS = {"mkstemp", "NamedTemporaryFile", "temp_prefix", "open_temp", "with_suffix"}


def test_no_module_but_fsio_makes_its_own_temp_file_beside_a_target() -> None:
    found = []
    for path in sorted((ROOT / "eoscatalog").rglob("*.py")):
        if path.name in ("fsio.py", "tempfiles.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            beside = name != "mkstemp" or any(k.arg == "dir" for k in node.keywords)
            tmp_suffix = name != "with_suffix" or any(
                isinstance(a, ast.Constant) and "tmp" in str(a.value) for a in node.args)
            if name in _TEMP_MAKERS and beside and tmp_suffix:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert found == []

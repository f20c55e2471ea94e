"""Writing local files safely: a temp file beside the target, put in place by one rename or link.

Every file eoscatalog writes (a local store's objects, downloads, cache entries, materialized
files, lock files, catalog exports, ``config.yaml``) is written through :func:`staged` or
:func:`atomic_write`, so a reader sees the old file or the new one, never a half, and a write
that fails leaves no temp file behind. Temp files carry the one temp-file name of
:mod:`eoscatalog.core.tempfiles` and are created ``O_EXCL | O_NOFOLLOW``: an existing file or a
planted symlink is never opened. ``durable`` writes fsync the file before it is put in place and
the folder after; downloads, which can be fetched again, skip both.

:func:`copy_file` moves bytes between two open files in the kernel.

This module sits below :mod:`eoscatalog.store`: it knows paths and bytes only.

>>> import tempfile
>>> target = Path(tempfile.mkdtemp()) / "a.txt"
>>> atomic_write(target, "one\\n"), target.read_text()
(True, 'one\\n')
>>> atomic_write(target, b"two\\n", if_absent=True), target.read_text()
(False, 'one\\n')
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from eoscatalog.core.errors import StoreError
from eoscatalog.core.tempfiles import temp_prefix

__all__ = ["OnBytes", "Staged", "atomic_write", "copy_file", "fsync_folder", "open_temp",
           "staged", "temp_name"]

# A progress callback: told how many more bytes moved (copies here, uploads and downloads of the
# stores above). One name for it, everywhere.
OnBytes = Callable[[int], None]

COPY_CHUNK = 64 * 1024 * 1024  # bytes per kernel copy call (and per progress report)
READ_CHUNK = 1024 * 1024

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def temp_name(folder: str | os.PathLike[str], suffix: str = "") -> Path:
    """A fresh temp-file name in ``folder``: ``.eos-tmp-<host>-<pid>-<16 hex><suffix>``.

    >>> temp_name("/data", "-x").name.startswith(temp_prefix()), temp_name("/d").name[-17:-16]
    (True, '-')
    """
    return Path(folder, f"{temp_prefix()}{secrets.token_hex(8)}{suffix}")


def open_temp(folder: str | os.PathLike[str], *, mode: int = 0o666) -> tuple[int, str]:
    """Create a new, exclusively owned temp file in ``folder``; return its descriptor and path.

    ``mode`` goes through the umask, as with ``open``. ``O_EXCL`` and ``O_NOFOLLOW`` mean an
    existing file or a planted symlink is never opened.
    """
    for _ in range(100):
        path = os.fspath(temp_name(folder))
        try:
            return os.open(path, _CREATE, mode), path
        except FileExistsError:
            continue
    raise StoreError(f"cannot create a temporary file in {folder}")


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable; filesystems that cannot fsync a folder are skipped."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class Staged:
    """A temp file beside ``target``, open for writing at ``fd``, until :meth:`replace` or
    :meth:`link` puts it in place. Made by :func:`staged`, which removes it if neither ran."""

    def __init__(self, target: Path, fd: int, path: str, *, durable: bool) -> None:
        self.target, self.fd, self.path, self.durable = target, fd, path, durable
        self.published = False
        self._open = True
        self._synced = False

    def write(self, data: bytes) -> None:
        """Append all of ``data`` (a short write is continued)."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        self._synced = False

    def sync(self) -> None:
        """fsync the bytes written so far (a durable write does it before publishing, unless
        done since the last :meth:`write`; writes straight to ``fd`` call it themselves)."""
        os.fsync(self.fd)
        self._synced = True

    def chmod(self, mode: int) -> None:
        """Set the temp file's permission bits (they travel with it into place)."""
        os.fchmod(self.fd, mode)

    def close(self) -> None:
        """Close the descriptor (again is harmless)."""
        if self._open:
            self._open = False
            os.close(self.fd)

    def discard(self) -> None:
        """Close and remove the temp file now: it is not needed (the target was made
        another way)."""
        self.close()
        _unlink_quietly(self.path)
        self.published = True  # nothing left for ``staged`` to clean up

    def _finish(self) -> None:
        if self.durable and not self._synced:
            self.sync()
        self.close()

    def replace(self) -> None:
        """Rename the temp file over ``target`` (whatever is there, a symlink included, is
        replaced, never followed)."""
        self._finish()
        os.replace(self.path, self.target)
        self.published = True
        if self.durable:
            fsync_folder(self.target.parent)

    def link(self) -> bool:
        """Put the temp file at ``target`` only if nothing is there (``link`` fails on an
        existing name, atomically); return whether it did. The temp name is removed either
        way."""
        self._finish()
        try:
            os.link(self.path, self.target)
        except FileExistsError:
            return False
        finally:
            self.published = True
            os.unlink(self.path)
        if self.durable:
            fsync_folder(self.target.parent)
        return True


@contextlib.contextmanager
def staged(target: str | os.PathLike[str], *, mode: int = 0o666,
           durable: bool = True) -> Iterator[Staged]:
    """A temp file beside ``target`` (its folder made if missing) to write and then publish
    with :meth:`Staged.replace` or :meth:`Staged.link`; on any way out of the block without
    that, the temp file is closed and removed.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "blob"
    >>> with staged(target, mode=0o600) as temp:
    ...     temp.write(b"bytes"); temp.chmod(0o444); temp.link()
    True
    >>> target.read_bytes(), oct(target.stat().st_mode & 0o777), len(list(target.parent.iterdir()))
    (b'bytes', '0o444', 1)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, path = open_temp(target.parent, mode=mode)
    temp = Staged(target, fd, path, durable=durable)
    try:
        yield temp
    finally:
        try:
            temp.close()
        finally:
            if not temp.published:
                _unlink_quietly(path)


def atomic_write(target: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o666,
                 if_absent: bool = False) -> bool:
    """Write ``data`` (text as UTF-8) to ``target`` durably, all or nothing: written to a temp
    file beside it, fsynced, renamed (or with ``if_absent``, linked only if ``target`` does not
    exist) into place, and the folder fsynced. Return whether ``target`` now holds ``data``
    (False: ``if_absent`` found it taken, and left it as it was)."""
    with staged(target, mode=mode) as temp:
        temp.write(data.encode("utf-8") if isinstance(data, str) else data)
        if if_absent:
            return temp.link()
        temp.replace()
        return True


# -- kernel copy ---------------------------------------------------------------------------------

def copy_file(src: int, dst: int, on_bytes: OnBytes | None = None) -> int:
    """Copy all of file descriptor ``src`` from its offset to ``dst``; return the bytes copied.

    The kernel moves the bytes (``copy_file_range``, which may share extents on file systems
    that can, else ``sendfile``); plain reads and writes are the fallback where neither works.

    >>> import tempfile
    >>> a, b = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    >>> _ = a.write(b"hello"); _ = a.seek(0)
    >>> copy_file(a.fileno(), b.fileno()), b.seek(0), b.read()
    (5, 0, b'hello')
    """
    total = 0
    for move in (_copy_range, _sendfile, _read_write):
        try:
            while count := move(src, dst):
                total += count
                if on_bytes is not None:
                    on_bytes(count)
            return total
        except OSError as e:
            if total or e.errno not in _NOT_SUPPORTED:
                raise
    raise AssertionError("unreachable: plain reads and writes always work")


_NOT_SUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}


def _copy_range(src: int, dst: int) -> int:
    if not hasattr(os, "copy_file_range"):
        raise OSError(errno.ENOSYS, "no copy_file_range")
    return os.copy_file_range(src, dst, COPY_CHUNK)


def _sendfile(src: int, dst: int) -> int:
    return os.sendfile(dst, src, None, COPY_CHUNK)


def _read_write(src: int, dst: int) -> int:
    data = os.read(src, READ_CHUNK)
    view = memoryview(data)
    while view:
        view = view[os.write(dst, view):]
    return len(data)

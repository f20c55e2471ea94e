"""The uploads in progress: each drop of files from the desktop, kept on disk until committed.

A drop is opened for one folder (``POST api/upload``), receives its files one request each
(``PUT api/upload/<id>/<relative path>``, streamed to a temp file under the server's temp folder,
chunk by chunk as they arrive), and is committed as ONE changeset (``Catalog.put_many``) or
dropped. Nothing reaches the catalog before the commit; a commit the catalog refuses writes
nothing.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import NotFoundError
from eoscatalog.log.records import VersionRecord

__all__ = ["Drops"]


class Drops:
    """Drops in progress, their files under ``root`` (one folder per drop)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._folders: dict[str, str] = {}  # id -> the folder's URI, eos://org/runs/
        self._messages: dict[str, str] = {}
        self._files: dict[str, dict[str, Path]] = {}  # id -> relative name -> temp file
        self._count = 0

    def open(self, folder_uri: str, message: str) -> str:
        """A new drop into ``folder_uri``; its id."""
        drop = secrets.token_hex(8)
        with self._lock:
            self.root.mkdir(mode=0o700, exist_ok=True)  # this user's only: files wait here
            (self.root / drop).mkdir(mode=0o700)
            self._folders[drop] = folder_uri
            self._messages[drop] = message
            self._files[drop] = {}
        return drop

    def folder(self, drop: str) -> str:
        """The folder URI of a drop; a NotFoundError for an unknown (or finished) one."""
        with self._lock:
            found = self._folders.get(drop)
        if found is None:
            raise NotFoundError(f"no upload {drop!r} in progress (committed, cancelled, or the "
                                "server restarted): drop the files again")
        return found

    async def receive(self, drop: str, relative: str, chunks: AsyncIterator[bytes]) -> int:
        """Write a file of the drop from the request body's chunks; its size."""
        self.folder(drop)
        with self._lock:
            self._count += 1
            path = self.root / drop / f"{self._count}.part"
        size = 0
        try:
            with open(path, "wb") as out:
                async for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        with self._lock:
            files = self._files.get(drop)
            if files is None:  # dropped while it arrived
                path.unlink(missing_ok=True)
                self.folder(drop)
            else:
                old = files.get(relative)
                files[relative] = path
                if old is not None:
                    old.unlink(missing_ok=True)
        return size

    def commit(self, drop: str, catalog: Catalog) -> list[VersionRecord]:
        """Put every file of the drop in ONE changeset; then forget the drop.

        The catalog checks the names and the right to write first, and stores the blobs
        before the changeset that names them (put_many): a refused drop writes nothing.
        """
        folder = self.folder(drop)
        with self._lock:
            files = dict(self._files.get(drop, {}))
            message = self._messages.get(drop, "")
        if not files:
            raise ValueError("this upload has no files yet: send them (PUT) before committing")
        items = [(path, folder + relative) for relative, path in sorted(files.items())]
        results = catalog.put_many(items, message=message or f"upload {len(items)} files")
        self.discard(drop)
        return [r.record for r in results]

    def discard(self, drop: str) -> None:
        """Forget a drop and delete its files."""
        with self._lock:
            self._folders.pop(drop, None)
            self._messages.pop(drop, None)
            self._files.pop(drop, None)
            shutil.rmtree(self.root / drop, ignore_errors=True)
            if not self._folders:  # the last drop done: nothing of the server's stays behind
                shutil.rmtree(self.root, ignore_errors=True)

    def close(self) -> None:
        """Delete every drop's files (the server stops)."""
        with self._lock:
            self._folders.clear()
            self._messages.clear()
            self._files.clear()
        shutil.rmtree(self.root, ignore_errors=True)

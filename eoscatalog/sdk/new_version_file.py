"""The file ``eos://`` opens for writing: bytes to a temporary file, a new version on close.

:class:`NewVersionFile` is what :meth:`EosFileSystem.open <eoscatalog.sdk.filesystem.EosFileSystem>`
returns for ``"wb"`` and ``"xb"``; a ``with`` block that raises publishes nothing.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from fsspec.spec import AbstractBufferedFile

__all__ = ["NewVersionFile"]


class NewVersionFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """Bytes written to a temporary file, put as a new version on close (not on error)."""

    def _initiate_upload(self) -> None:
        fd, self._temp = tempfile.mkstemp(prefix="eos-fsspec-", suffix=".part")
        self._sink = os.fdopen(fd, "wb")

    def _upload_chunk(self, final: bool = False) -> bool:
        if not hasattr(self, "_sink"):
            self._initiate_upload()
        self._sink.write(self.buffer.getvalue())
        if final:
            self._sink.close()
            if self.autocommit:
                self.commit()
        return True

    def commit(self) -> None:
        """Publish the written bytes as the name's new version (once; the temp file goes)."""
        if getattr(self, "_done", False):
            return  # staged as it closed, in a transaction fsspec also commits at its end
        self._done = True
        try:
            with self.fs._writing():
                if self.mode == "xb":
                    self.fs.catalog.put_if_absent(self._temp, "eos://" + self.path)
                else:
                    self.fs.catalog.put(self._temp, "eos://" + self.path)
        finally:
            os.unlink(self._temp)

    def discard(self) -> None:
        """Drop the written bytes: no version."""
        if hasattr(self, "_sink") and not getattr(self, "_done", False):
            self._done = True
            self._sink.close()
            os.unlink(self._temp)

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is None:
            self.close()
            return
        self.discard()
        self.closed = True

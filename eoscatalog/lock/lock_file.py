"""Lock files: the exact inputs of an analysis, so it can be rerun on the same bytes.

A lock file pins names to exact versions: for each (namespace, name) one version number and the
BLAKE3 hash of its bytes (a :class:`~eoscatalog.lock.pin.LockedInput`); and folders to folder
versions (a :class:`~eoscatalog.lock.folder_pin.LockedFolder`: every name under the prefix).
``eos lock REF... -o eos.lock`` writes one; a process that activates it (``EOS_LOCK=eos.lock``
or :func:`~eoscatalog.lock.active.use_lock`) resolves every reference through it. This module is the
file itself: :class:`LockFile` holds the pins, and reads and writes them.

The format (YAML, UTF-8, written byte-for-byte the same for the same inputs, so it diffs well in
git)::

    # eoscatalog lock file: exact inputs; `eos lock` writes it, EOS_LOCK=<this file> uses it
    format: 1
    inputs:
    - uri: eos://org/shared/samples.csv@3
      namespace: org
      name: shared/samples.csv
      version: 3
      hash: blake3:<64 hex digits>
      size: 1234

- ``format`` is required and must be ``1``; a later eoscatalog that changes the shape raises it.
- ``inputs`` is a list, sorted by namespace then name, at most one entry per name.
- Each entry needs ``namespace`` (``org``, ``public``, ``users/<id>`` or ``scratch/<id>``; never
  ``users/me``, so the file means the same for every reader), ``name``, ``version`` (a whole
  number from 1) and ``hash`` (``blake3:`` and 64 hex digits). ``size`` (bytes) is optional.
  ``uri`` is for people and ``grep``; when present it must agree with the other fields. Other
  keys are refused, so a typo cannot silently drop a pin.
- Two entries for the same name must pin the same version and hash (repeats are merged).
- A lock that pins folders is ``format: 2``, with a ``folders`` list (sorted by namespace then
  prefix) of :class:`~eoscatalog.lock.folder_pin.LockedFolder` entries: ``uri``, ``namespace``,
  ``prefix``, ``version``, ``seq``, ``digest``, ``names``. A lock without is written as format 1.

Anything else is refused by :meth:`LockFile.load` with a
:class:`~eoscatalog.core.errors.ConfigError`
that names the file, the entry and the problem.

>>> lock = LockFile([LockedInput("org", "shared/samples.csv", 3, "blake3:" + "ab" * 32, 1234)])
>>> print(lock.to_yaml())  # doctest: +ELLIPSIS
# eoscatalog lock file: ...
format: 1
inputs:
- uri: eos://org/shared/samples.csv@3
  namespace: org
  name: shared/samples.csv
  version: 3
  hash: blake3:abab...
  size: 1234
<BLANKLINE>
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eoscatalog.core.errors import ConfigError, ConflictError, InvalidNameError
from eoscatalog.core.fsio import atomic_write
from eoscatalog.lock.folder_pin import LockedFolder
from eoscatalog.lock.lock_yaml import FOLDERS_FORMAT, FORMAT, lock_lists, read_lock_text
from eoscatalog.lock.pin import LockedInput, Pinnable

__all__ = ["FOLDERS_FORMAT", "FORMAT", "LockFile", "PinChange"]

HEADER = (
    "# eoscatalog lock file: exact inputs; `eos lock` writes it, EOS_LOCK=<this file> uses it\n"
)


@dataclass(frozen=True)
class PinChange:
    """What :meth:`LockFile.merge` did to one pin: ``added`` (a name the lock did not pin),
    ``updated`` (moved from ``previous``), ``unchanged`` (asked for, already pinned so) or
    ``kept`` (in the lock, not asked for)."""

    pin: LockedInput | LockedFolder
    status: str
    previous: LockedInput | LockedFolder | None = None

    @property
    def checksum(self) -> str:
        """The pin's hash (a name) or digest (a folder)."""
        return self.pin.hash if isinstance(self.pin, LockedInput) else self.pin.digest

    def to_dict(self) -> dict[str, Any]:
        """The pin's fields, its ``status`` and, when updated, the ``previous`` pin's URI."""
        data = {**self.pin.to_dict(), "status": self.status}
        if self.previous is not None:
            data["previous"] = self.previous.uri
        return data


class LockFile:
    """A set of pins, at most one per (namespace, name); thread-safe; savable as YAML.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "eos.lock"
    >>> lock = LockFile()
    >>> lock.pin(LockedInput("org", "x.csv", 2, "blake3:" + "0" * 64))
    >>> lock.save(path) == path
    True
    >>> again = LockFile.load(path)
    >>> again == lock, len(again), ("org", "x.csv") in again
    (True, 1, True)
    >>> again.lookup("org", "x.csv").version
    2
    """

    def __init__(
        self,
        inputs: Iterable[LockedInput | Pinnable] = (),
        *,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.path = Path(os.path.abspath(path)) if path is not None else None
        self._inputs: dict[tuple[str, str], LockedInput] = {}
        self._folders: dict[tuple[str, str], LockedFolder] = {}
        self._mutex = threading.RLock()
        for item in inputs:
            self.pin(item)

    # -- reading and writing ---------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LockFile:
        """Read a lock file; anything wrong with it raises ConfigError naming file and fault."""
        where = Path(os.path.abspath(path))
        text = read_lock_text(where)
        return cls.from_yaml(text, path=where)

    @classmethod
    def from_yaml(cls, text: str, *, path: Path | None = None) -> LockFile:
        """Parse the YAML text of a lock file; ``path`` is used in messages and kept.

        >>> LockFile.from_yaml("format: 1\\ninputs: []\\n")
        LockFile(0 inputs, path=None)
        >>> LockFile.from_yaml("format: 1\\n")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        eoscatalog.core.errors.ConfigError: lock file <string> has no 'inputs' list ...
        """
        where = str(path) if path is not None else "<string>"
        entries, folders = lock_lists(text, where)
        lock = cls(path=path)
        first_index: dict[tuple[str, str], int] = {}
        for i, entry in enumerate(entries):
            label = f"inputs[{i}]"
            if isinstance(entry, dict) and isinstance(entry.get("uri"), str):
                label += f" ({entry['uri']})"
            try:
                pin = LockedInput.from_dict(entry)
            except InvalidNameError as e:
                raise ConfigError(f"lock file {where}: {label}: {e}") from None
            earlier = lock.lookup(pin.namespace, pin.name)
            try:
                lock.pin(pin)
            except ConflictError:
                if earlier is None:
                    raise RuntimeError(
                        f"internal error: the lock refused a pin for {pin.namespace}/{pin.name} "
                        "but holds none; please report it"
                    ) from None
                raise ConfigError(
                    f"lock file {where}: inputs[{first_index[pin.key]}] and inputs[{i}] pin "
                    f"eos://{pin.namespace}/{pin.name} differently ({_describe(earlier)} and "
                    f"{_describe(pin)}); a lock holds one version per name: keep one entry"
                ) from None
            first_index.setdefault(pin.key, i)
        for i, entry in enumerate(folders):
            try:
                lock.pin_folder(LockedFolder.from_dict(entry))
            except (InvalidNameError, ConflictError) as e:
                raise ConfigError(f"lock file {where}: folders[{i}]: {e}") from None
        return lock

    def to_yaml(self) -> str:
        """The file's text: header comment, format, inputs sorted by namespace then name."""
        data: dict[str, Any] = {"format": FORMAT, "inputs": [pin.to_dict() for pin in self]}
        if self.folders:
            data["format"] = FOLDERS_FORMAT
            data["folders"] = [pin.to_dict() for pin in self.folders]
        body = yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, default_flow_style=False,
            width=2**31 - 1,  # never fold long names onto a second line
        )
        return HEADER + body

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the lock atomically (temp file beside it, fsync, rename); return its path.

        ``path`` defaults to where the lock was loaded from or last saved to. Missing parent
        folders are made. The same pins always give byte-identical files.
        """
        if path is None:
            if self.path is None:
                raise ValueError("this lock has no path yet: pass save(path)")
            path = self.path
        target = Path(os.path.abspath(path))
        # 0o666 through the umask, as a plain open() would: a lock file is meant to be shared.
        atomic_write(target, self.to_yaml())
        self.path = target
        return target

    # -- pins ------------------------------------------------------------------------------------

    def pin(self, item: LockedInput | Pinnable, *, replace: bool = False) -> None:
        """Add a pin from a LockedInput or a resolved VersionRecord.

        Pinning what is already pinned changes nothing (a known size fills in an unknown one).
        Pinning a name to another version (or other bytes) raises ConflictError naming both,
        unless ``replace=True``.

        >>> lock = LockFile([LockedInput("org", "x", 1, "blake3:" + "0" * 64)])
        >>> lock.pin(LockedInput("org", "x", 2, "blake3:" + "1" * 64))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        eoscatalog.core.errors.ConflictError: cannot pin eos://org/x@2 ...
        >>> lock.pin(LockedInput("org", "x", 2, "blake3:" + "1" * 64), replace=True)
        >>> lock.lookup("org", "x").version
        2
        """
        new = LockedInput.from_record(item)
        with self._mutex:
            old = self._inputs.get(new.key)
            if old is None or replace or old == new:
                self._inputs[new.key] = new
                return
            same_bytes = (old.version, old.hash) == (new.version, new.hash)
            if same_bytes and (old.size is None or new.size is None):
                if old.size is None:
                    self._inputs[new.key] = new
                return
            raise ConflictError(
                f"cannot pin {_describe(new)}: {self._where()} already pins {_describe(old)}; "
                "a lock holds one version per name (pin(..., replace=True) changes it)"
            )

    def merge(self, items: Iterable[LockedInput | LockedFolder | Pinnable], *,
              update: bool = False) -> list[PinChange]:
        """Pin ``items`` on top of the lock's pins, and say what happened to every pin.

        New names are added and pins not named are kept. A name pinned to another version (or
        other bytes) is moved only with ``update``; otherwise ConflictError names each such
        pin, its locked version and the new one, and the lock is left as it was.

        >>> old = LockedInput("org", "x", 1, "blake3:" + "0" * 64)
        >>> lock = LockFile([old, LockedInput("org", "y", 1, "blake3:" + "0" * 64)])
        >>> new = LockedInput("org", "x", 2, "blake3:" + "1" * 64)
        >>> lock.merge([new])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        eoscatalog.core.errors.ConflictError: the lock (not saved) pins eos://org/x@1 ...
        >>> [(c.pin.uri, c.status) for c in lock.merge([new], update=True)]
        [('eos://org/x@2', 'updated'), ('eos://org/y@1', 'kept')]
        """
        every: Iterable[LockedInput | LockedFolder | Pinnable] = (
            [*items.inputs, *items.folders] if isinstance(items, LockFile) else items)
        fresh = [i if isinstance(i, LockedFolder) else LockedInput.from_record(i) for i in every]
        with self._mutex:
            held = {**self._pins()}
            moved = [(held[p.key], p) for p in fresh if p.key in held and _sig(held[p.key])
                     != _sig(p)]
            if moved and not update:
                pins = "; ".join(f"{old.uri} ({_sig(old)[1][:19]}...); it now resolves to "
                                 f"@{new.version} ({_sig(new)[1][:19]}...)" for old, new in moved)
                raise ConflictError(
                    f"{self._where()} pins {pins}. Nothing was changed: pass --update "
                    "(merge(..., update=True)) to move the pin"
                    f"{'s' if len(moved) > 1 else ''}, or lock another name"
                )
            for new in fresh:
                if isinstance(new, LockedFolder):
                    self.pin_folder(new, replace=True)
                else:
                    self.pin(new, replace=True)
            asked = {p.key for p in fresh}
            changes = []
            for key, pin in sorted(self._pins().items()):
                old = held.get(key)
                if key not in asked:
                    changes.append(PinChange(pin, "kept"))
                elif old is None:
                    changes.append(PinChange(pin, "added"))
                elif _sig(old) != _sig(pin):
                    changes.append(PinChange(pin, "updated", old))
                else:
                    changes.append(PinChange(pin, "unchanged"))
            return changes

    def lookup(self, namespace: str, name: str) -> LockedInput | None:
        """The pin for a name, or None.

        >>> LockFile().lookup("org", "x") is None
        True
        """
        with self._mutex:
            return self._inputs.get((namespace, name))

    def pin_folder(self, pin: LockedFolder, *, replace: bool = False) -> None:
        """Add a folder pin; pinning a folder to another version (or digest) raises
        ConflictError unless ``replace=True``.

        >>> lock = LockFile()
        >>> lock.pin_folder(LockedFolder("org", "x.zarr/", 3, 12, "blake3:" + "0" * 64, 5))
        >>> lock.folder_for("org", "x.zarr/a/0").version, lock.folder_for("org", "y") is None
        (3, True)
        """
        with self._mutex:
            old = self._folders.get(pin.key)
            if old is None or replace or old == pin or (
                    _sig(old) == _sig(pin) and None in (old.seq, pin.seq)):
                if old is None or replace or pin.seq is not None:
                    self._folders[pin.key] = pin
                return
            raise ConflictError(
                f"cannot pin the folder {pin.uri} ({pin.digest[:19]}...): {self._where()} "
                f"already pins {old.uri} ({old.digest[:19]}...); a lock holds one version per "
                "folder (pin_folder(..., replace=True) changes it)"
            )

    def unpin(self, namespace: str, name: str) -> None:
        """Forget the name pin of ``name`` (nothing if there is none)."""
        with self._mutex:
            self._inputs.pop((namespace, name), None)

    def folder_for(self, namespace: str, name: str) -> LockedFolder | None:
        """The folder pin covering ``name`` (a name or a prefix): the longest prefix wins."""
        with self._mutex:
            if not self._folders:
                return None
            cut = len(name)
            while cut > 0:
                cut = name.rfind("/", 0, cut)
                pin = self._folders.get((namespace, name[:cut + 1]))
                if pin is not None:
                    return pin
            return None  # cut == -1 looked up the root "" last

    @property
    def folders(self) -> tuple[LockedFolder, ...]:
        """Every folder pin, sorted by namespace then prefix (a snapshot)."""
        with self._mutex:
            return tuple(self._folders[key] for key in sorted(self._folders))

    def _pins(self) -> dict[tuple[str, str], LockedInput | LockedFolder]:
        return {**self._inputs, **self._folders}  # names never end with "/", so keys differ

    @property
    def inputs(self) -> tuple[LockedInput, ...]:
        """Every pin, sorted by namespace then name (a snapshot)."""
        with self._mutex:
            return tuple(self._inputs[key] for key in sorted(self._inputs))

    def __iter__(self) -> Iterator[LockedInput]:
        return iter(self.inputs)

    def __len__(self) -> int:
        with self._mutex:
            return len(self._inputs) + len(self._folders)

    def __contains__(self, key: object) -> bool:
        if not (isinstance(key, tuple) and len(key) == 2):
            return False
        with self._mutex:
            return key in self._inputs or key in self._folders

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LockFile):
            return NotImplemented
        return (self.inputs, self.folders) == (other.inputs, other.folders)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        path = str(self.path) if self.path is not None else None
        folders = f", {len(self._folders)} folders" if self._folders else ""
        return f"LockFile({len(self._inputs)} inputs{folders}, path={path!r})"

    def _where(self) -> str:
        return f"lock file {self.path}" if self.path is not None else "the lock (not saved)"


# -- helpers -------------------------------------------------------------------------------------


def _describe(pin: LockedInput) -> str:
    return f"{pin.uri} ({pin.hash[:19]}...)"


def _sig(pin: LockedInput | LockedFolder) -> tuple[int, str]:
    """What must match for two pins of one key to be the same: version and bytes."""
    return (pin.version, pin.hash if isinstance(pin, LockedInput) else pin.digest)

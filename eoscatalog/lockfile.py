"""Lock files: the exact inputs of an analysis, so it can be rerun on the same bytes.

A lock file pins names to exact versions: for each (namespace, name) one version number and the
BLAKE3 hash of its bytes. ``eos lock REF... -o eos.lock`` writes one; a process that activates it
(``EOS_LOCK=eos.lock`` or :func:`use_lock`) resolves every reference through it, and a name that
is missing from an active lock is an error (:func:`pin_for`), never a silent ``latest``.
:class:`record_inputs` writes the inputs a block of code actually resolved.

This module is bookkeeping only: it never reads the store and knows nothing of the catalog. The
catalog asks :func:`active_lock` before resolving, :func:`pin_for` for the pinned version, and
calls :func:`note_resolved` after every successful resolution.

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

Anything else is refused by :meth:`LockFile.load` with a :class:`~eoscatalog.errors.ConfigError`
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

import contextlib
import os
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import yaml

from .errors import ConfigError, ConflictError, InvalidNameError, NotFoundError
from .hashing import parse_hash
from .names import MAX_VERSION, validate_name, validate_namespace
from .store.base import fsync_folder

__all__ = [
    "FORMAT",
    "LockActivation",
    "LockFile",
    "LockedInput",
    "Pinnable",
    "active_lock",
    "note_resolved",
    "pin_for",
    "record_inputs",
    "use_lock",
]

FORMAT = 1
HEADER = (
    "# eoscatalog lock file: exact inputs; `eos lock` writes it, EOS_LOCK=<this file> uses it\n"
)
ENV_VAR = "EOS_LOCK"

_ENTRY_KEYS = ("uri", "namespace", "name", "version", "hash", "size")
_REQUIRED_KEYS = ("namespace", "name", "version", "hash")
_TOP_KEYS = ("format", "inputs")


class Pinnable(Protocol):
    """What :meth:`LockFile.pin` needs from a record: a VersionRecord has all of it."""

    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def hash(self) -> str | None: ...
    @property
    def size(self) -> int | None: ...


@dataclass(frozen=True)
class LockedInput:
    """One pinned input: a name in a namespace, at one version with known bytes.

    Fields are checked when the object is made (the name is NFC-normalized, the hash made
    lower-case); a bad one raises :class:`~eoscatalog.errors.InvalidNameError`.

    >>> pin = LockedInput("org", "a/b.csv", 3, "BLAKE3:" + "AB" * 32, 10)
    >>> pin.uri, pin.hash[:12]
    ('eos://org/a/b.csv@3', 'blake3:ababa')
    >>> LockedInput("users/me", "x", 1, "blake3:" + "0" * 64)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.errors.InvalidNameError: a lock file pins real namespaces: ... not 'users/me'
    """

    namespace: str
    name: str
    version: int
    hash: str
    size: int | None = None

    def __post_init__(self) -> None:
        namespace = self.namespace
        if not isinstance(namespace, str):
            raise InvalidNameError(f"namespace must be a string, got {namespace!r}")
        if namespace.split("/")[-1:] == ["me"]:
            raise InvalidNameError(
                "a lock file pins real namespaces: write the user's id (users/<id>), "
                f"not {namespace!r}"
            )
        if validate_namespace(namespace) != namespace:
            raise InvalidNameError(
                f"invalid namespace {namespace!r}: write it as "
                f"{validate_namespace(namespace)!r}"
            )
        if isinstance(self.name, str):
            try:
                self.name.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidNameError(
                    f"invalid name {self.name!r}: it is not valid Unicode (a lone surrogate)"
                ) from None
        object.__setattr__(self, "name", validate_name(self.name))
        version = self.version
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidNameError(f"version must be a whole number from 1, got {version!r}")
        if not 1 <= version <= MAX_VERSION:
            raise InvalidNameError(f"version must be from 1 to {MAX_VERSION}, got {version}")
        object.__setattr__(self, "hash", parse_hash(self.hash))
        size = self.size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise InvalidNameError(f"size must be a whole number of bytes, got {size!r}")
        if size is not None and size < 0:
            raise InvalidNameError(f"size must be zero or more bytes, got {size}")

    @property
    def key(self) -> tuple[str, str]:
        """``(namespace, name)``: what a lock holds one pin for."""
        return (self.namespace, self.name)

    @property
    def uri(self) -> str:
        """The pinned URI, ``eos://<namespace>/<name>@<version>``."""
        return f"eos://{self.namespace}/{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The entry as written in a lock file (``size`` left out when unknown).

        >>> LockedInput("org", "x", 1, "blake3:" + "0" * 64).to_dict()["uri"]
        'eos://org/x@1'
        """
        data: dict[str, Any] = {
            "uri": self.uri,
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "hash": self.hash,
        }
        if self.size is not None:
            data["size"] = self.size
        return data

    @classmethod
    def from_dict(cls, data: Any) -> LockedInput:
        """Read an entry as :meth:`to_dict` writes it; raises InvalidNameError naming the fault.

        >>> d = LockedInput("org", "x", 1, "blake3:" + "0" * 64, 5).to_dict()
        >>> LockedInput.from_dict(d) == LockedInput("org", "x", 1, "blake3:" + "0" * 64, 5)
        True
        """
        if not isinstance(data, dict):
            raise InvalidNameError(
                f"an input must be a mapping of {', '.join(_REQUIRED_KEYS)}, got {data!r}"
            )
        unknown = [k for k in data if k not in _ENTRY_KEYS]
        if unknown:
            raise InvalidNameError(
                f"unknown key(s) {', '.join(map(repr, unknown))}; an input has "
                f"{', '.join(_ENTRY_KEYS)}"
            )
        missing = [k for k in _REQUIRED_KEYS if k not in data]
        if missing:
            raise InvalidNameError(f"missing key(s) {', '.join(missing)}")
        pin = cls(data["namespace"], data["name"], data["version"], data["hash"],
                  data.get("size"))
        uri = data.get("uri")
        if uri is not None and (
            not isinstance(uri, str) or unicodedata.normalize("NFC", uri) != pin.uri
        ):
            raise InvalidNameError(
                f"uri {uri!r} disagrees with namespace, name and version, which make "
                f"{pin.uri!r}: fix the entry or delete its uri line"
            )
        return pin

    @classmethod
    def from_record(cls, record: Pinnable) -> LockedInput:
        """Pin a resolved version (a VersionRecord, or anything with the same five fields).

        Delete markers and purged versions hold no bytes and cannot be pinned.
        """
        if isinstance(record, LockedInput):
            return record
        where = f"eos://{record.namespace}/{record.name}@{record.version}"
        if record.hash is None:
            raise InvalidNameError(f"cannot pin {where}: it is a delete marker and has no bytes")
        if getattr(record, "purged", False):
            raise InvalidNameError(f"cannot pin {where}: it was purged and has no bytes left")
        return cls(record.namespace, record.name, record.version, record.hash, record.size)


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
        self._mutex = threading.RLock()
        for item in inputs:
            self.pin(item)

    # -- reading and writing ---------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LockFile:
        """Read a lock file; anything wrong with it raises ConfigError naming file and fault."""
        where = Path(os.path.abspath(path))
        try:
            raw = where.read_bytes()
        except FileNotFoundError:
            raise ConfigError(
                f"lock file {where} does not exist: write it with `eos lock REF... -o {where}`"
            ) from None
        except IsADirectoryError:
            raise ConfigError(f"lock file {where} is a directory, not a file") from None
        except OSError as e:
            raise ConfigError(f"cannot read lock file {where}: {e.strerror or e}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError(
                f"lock file {where} is not UTF-8 text (byte {e.start}); is it a lock file?"
            ) from None
        return cls.from_yaml(text, path=where)

    @classmethod
    def from_yaml(cls, text: str, *, path: Path | None = None) -> LockFile:
        """Parse the YAML text of a lock file; ``path`` is used in messages and kept.

        >>> LockFile.from_yaml("format: 1\\ninputs: []\\n")
        LockFile(0 inputs, path=None)
        >>> LockFile.from_yaml("format: 1\\n")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        eoscatalog.errors.ConfigError: lock file <string> has no 'inputs' list ...
        """
        where = str(path) if path is not None else "<string>"
        data = _parse_yaml(text, where)
        if data is None:
            raise ConfigError(
                f"lock file {where} is empty: it needs 'format: {FORMAT}' and an 'inputs' list "
                "(write one with `eos lock REF... -o FILE`)"
            )
        if not isinstance(data, dict):
            raise ConfigError(
                f"lock file {where} must be a mapping with 'format' and 'inputs', "
                f"not a {type(data).__name__}"
            )
        unknown = [k for k in data if k not in _TOP_KEYS]
        if unknown:
            raise ConfigError(
                f"lock file {where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                "it holds only 'format' and 'inputs'"
            )
        if "format" not in data:
            raise ConfigError(f"lock file {where} has no 'format' (this version reads {FORMAT})")
        version = data["format"]
        if version != FORMAT or isinstance(version, bool):
            newer = isinstance(version, int) and not isinstance(version, bool) and version > FORMAT
            hint = "; it was written by a newer eoscatalog: upgrade" if newer else ""
            raise ConfigError(
                f"lock file {where} has format {version!r}; this eoscatalog reads format "
                f"{FORMAT}{hint}"
            )
        entries = data.get("inputs")
        if not isinstance(entries, list):
            raise ConfigError(
                f"lock file {where} has no 'inputs' list (got {entries!r}); write "
                "'inputs: []' for a lock that pins nothing"
            )
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
                assert earlier is not None
                raise ConfigError(
                    f"lock file {where}: inputs[{first_index[pin.key]}] and inputs[{i}] pin "
                    f"eos://{pin.namespace}/{pin.name} differently ({_describe(earlier)} and "
                    f"{_describe(pin)}); a lock holds one version per name: keep one entry"
                ) from None
            first_index.setdefault(pin.key, i)
        return lock

    def to_yaml(self) -> str:
        """The file's text: header comment, format, inputs sorted by namespace then name."""
        data = {"format": FORMAT, "inputs": [pin.to_dict() for pin in self]}
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
        data = self.to_yaml().encode("utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
        # 0o666 through the umask, as a plain open() would: a lock file is meant to be shared.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_folder(target.parent)
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
        eoscatalog.errors.ConflictError: cannot pin eos://org/x@2 ... already pins eos://org/x@1 ...
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

    def lookup(self, namespace: str, name: str) -> LockedInput | None:
        """The pin for a name, or None.

        >>> LockFile().lookup("org", "x") is None
        True
        """
        with self._mutex:
            return self._inputs.get((namespace, name))

    @property
    def inputs(self) -> tuple[LockedInput, ...]:
        """Every pin, sorted by namespace then name (a snapshot)."""
        with self._mutex:
            return tuple(self._inputs[key] for key in sorted(self._inputs))

    def __iter__(self) -> Iterator[LockedInput]:
        return iter(self.inputs)

    def __len__(self) -> int:
        with self._mutex:
            return len(self._inputs)

    def __contains__(self, key: object) -> bool:
        if not (isinstance(key, tuple) and len(key) == 2):
            return False
        with self._mutex:
            return key in self._inputs

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LockFile):
            return NotImplemented
        return self.inputs == other.inputs

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        path = str(self.path) if self.path is not None else None
        return f"LockFile({len(self)} inputs, path={path!r})"

    def _where(self) -> str:
        return f"lock file {self.path}" if self.path is not None else "the lock (not saved)"


def pin_for(lock: LockFile, namespace: str, name: str) -> LockedInput:
    """The pin an active lock holds for a name; a name it lacks raises NotFoundError.

    The catalog calls this instead of resolving ``latest`` while a lock is active: a missing
    name is an error, never a silent fallback.

    >>> pin_for(LockFile(), "org", "x.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.errors.NotFoundError: eos://org/x.csv is not in the active lock (not saved): ...
    """
    pin = lock.lookup(namespace, name)
    if pin is not None:
        return pin
    uri = f"eos://{namespace}/{name}"
    if lock.path is not None:
        where, add = f"file {lock.path}", f"add it with `eos lock ... {uri} -o {lock.path}`"
    else:
        where, add = "(not saved)", "pin it with lock.pin(...)"
    raise NotFoundError(
        f"{uri} is not in the active lock {where}: {add}, or deactivate the lock "
        "(unset EOS_LOCK, or call eoscatalog.use_lock(None))"
    )


# -- the active lock -----------------------------------------------------------------------------

_FOLLOW_ENV: Any = object()  # no use_lock() in force: EOS_LOCK decides
_state_mutex = threading.Lock()
_state: Any = _FOLLOW_ENV  # a LockFile, None (locking off) or _FOLLOW_ENV
_env_cache: tuple[tuple[str, int, int, int], LockFile] | None = None


class LockActivation:
    """What :func:`use_lock` returns: the switch is already made; ``with`` undoes it on exit.

    ``lock`` is the lock now in force (None: locking is off); :meth:`restore` (or leaving the
    ``with`` block) puts back whatever was in force before.
    """

    def __init__(self, lock: LockFile | None, previous: Any) -> None:
        self.lock = lock
        self._previous = previous
        self._restored = False

    def restore(self) -> None:
        """Put back the state from before this activation (once; later calls do nothing).

        >>> act = use_lock(LockFile())
        >>> act.restore()
        """
        global _state
        with _state_mutex:
            if not self._restored:
                _state = self._previous
                self._restored = True

    def __enter__(self) -> LockFile | None:
        return self.lock

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()

    def __repr__(self) -> str:
        return f"LockActivation({self.lock!r})"


def use_lock(lock: str | os.PathLike[str] | LockFile | None) -> LockActivation:
    """Make ``lock`` the active lock of the whole process (every thread), or turn locking off.

    A path is loaded now (errors surface here, not at the first resolution) and not reloaded;
    a LockFile is used as it is. ``use_lock(None)`` turns locking off, even if EOS_LOCK is set.
    Called plainly it is a switch for the rest of the process; as ``with use_lock(...):`` the
    previous state (including "follow EOS_LOCK") comes back when the block ends.

    >>> import tempfile, pathlib
    >>> path = LockFile().save(pathlib.Path(tempfile.mkdtemp()) / "eos.lock")
    >>> with use_lock(path) as lock:
    ...     active_lock() is lock
    True
    >>> active_lock() is None
    True
    """
    global _state
    if lock is None or isinstance(lock, LockFile):
        new = lock
    elif isinstance(lock, (str, os.PathLike)):
        new = LockFile.load(lock)
    else:
        raise TypeError(
            f"use_lock() takes a path, a LockFile or None, not {type(lock).__name__}"
        )
    with _state_mutex:
        previous, _state = _state, new
    return LockActivation(new, previous)


def active_lock() -> LockFile | None:
    """The lock every resolution must go through now, or None.

    The one set by :func:`use_lock` if any; else the file named by EOS_LOCK (loaded once, and
    again when its size, mtime or inode change); else None. An EOS_LOCK naming a missing or bad
    file raises ConfigError: a lock that was asked for is never silently ignored.

    >>> active_lock() is None  # no use_lock() and no EOS_LOCK
    True
    """
    with _state_mutex:
        state = _state
    if state is not _FOLLOW_ENV:
        return state  # type: ignore[no-any-return]
    setting = os.environ.get(ENV_VAR)
    if not setting:
        return None
    return _env_lock(setting)


_env_paths: dict[str, str] = {}


def _reset() -> None:
    """Forget use_lock(), cached EOS_LOCK files and open recorders (for test isolation)."""
    global _state, _env_cache
    with _state_mutex:
        _state = _FOLLOW_ENV
        _env_cache = None
        _env_paths.clear()
    with _recorders_mutex:
        _recorders.clear()


def _env_lock(setting: str) -> LockFile:
    global _env_cache
    with _state_mutex:
        # A relative EOS_LOCK means the folder the process started in: fixed at first use,
        # so a later chdir never switches to another lock file.
        path = _env_paths.setdefault(setting, os.path.abspath(os.path.expanduser(setting)))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(
            f"{ENV_VAR}={setting} names a lock file that does not exist ({path}): write it with "
            f"`eos lock REF... -o {setting}`, or unset {ENV_VAR}"
        ) from None
    except OSError as e:
        raise ConfigError(f"{ENV_VAR}={setting}: cannot read {path}: {e.strerror or e}") from None
    key = (path, st.st_mtime_ns, st.st_size, st.st_ino)
    with _state_mutex:
        cached = _env_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        lock = LockFile.load(path)
    except ConfigError as e:
        raise ConfigError(f"{e} (the file {ENV_VAR} names)") from None
    with _state_mutex:
        _env_cache = (key, lock)
    return lock


# -- recording -----------------------------------------------------------------------------------

_recorders_mutex = threading.Lock()
_recorders: list[record_inputs] = []


class record_inputs:  # lower case: it reads like a function, `with record_inputs(path):`
    """Record every input resolved while the block runs, and write them as a lock file.

    Every resolution in the process counts, from any thread (work handed to a thread pool is
    recorded), so blocks open at the same time, nested or in other threads, each record
    everything resolved while they are open. The file is written only when the block ends
    normally: after an exception nothing is written and an existing file is left as it was.
    If the block read two versions of one name, the file is not written either and ConflictError
    says which (a lock holds one version per name). The path is made absolute on entry.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "inputs.lock"
    >>> with record_inputs(path) as rec:
    ...     note_resolved(LockedInput("org", "x.csv", 3, "blake3:" + "0" * 64))
    >>> [pin.uri for pin in LockFile.load(path)], rec.written
    (['eos://org/x.csv@3'], True)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(os.path.abspath(path))
        self.lock = LockFile(path=self.path)
        self.written = False
        self._conflicts: list[tuple[LockedInput, LockedInput]] = []
        self._entered = False

    @property
    def conflicts(self) -> tuple[tuple[LockedInput, LockedInput], ...]:
        """(first seen, later seen) for each name resolved to two different versions."""
        with _recorders_mutex:
            return tuple(self._conflicts)

    def note(self, pin: LockedInput) -> None:
        """Add one resolved input (what :func:`note_resolved` does for every open recorder)."""
        try:
            self.lock.pin(pin)
        except ConflictError:
            first = self.lock.lookup(pin.namespace, pin.name)
            assert first is not None
            with _recorders_mutex:
                if (first, pin) not in self._conflicts:
                    self._conflicts.append((first, pin))

    def __enter__(self) -> record_inputs:
        if self._entered:
            raise RuntimeError("a record_inputs object can be entered only once; make a new one")
        self._entered = True
        with _recorders_mutex:
            _recorders.append(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with _recorders_mutex:
            _recorders.remove(self)
        if exc_type is not None:
            return
        conflicts = self.conflicts
        if conflicts:
            listing = "; ".join(f"{a.uri} and then {b.uri}" for a, b in conflicts)
            raise ConflictError(
                f"{self.path} was not written: the block read {listing}, and a lock holds one "
                "version per name. Pin those references (name@N) in the analysis and run it again"
            )
        self.lock.save(self.path)
        self.written = True

    def __repr__(self) -> str:
        return f"record_inputs({str(self.path)!r}, {len(self.lock)} inputs)"


def note_resolved(record: LockedInput | Pinnable) -> None:
    """Tell every open :class:`record_inputs` block that ``record`` was resolved.

    The catalog calls it after each successful resolution; with no block open it does nothing.

    >>> note_resolved(LockedInput("org", "x", 1, "blake3:" + "0" * 64))  # nobody recording
    """
    with _recorders_mutex:
        recorders = tuple(_recorders)
    if not recorders:
        return
    pin = LockedInput.from_record(record)
    for recorder in recorders:
        recorder.note(pin)


# -- helpers -------------------------------------------------------------------------------------


def _describe(pin: LockedInput) -> str:
    return f"{pin.uri} ({pin.hash[:19]}...)"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"the key {key!r} appears twice", key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"lock file {where} is not valid YAML ({at}{problem})") from None


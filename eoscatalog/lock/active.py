"""The active lock and recording: which lock file every resolution in this process goes
through, and which inputs a block of code resolved.

A process activates a lock file (``EOS_LOCK=eos.lock``, or :func:`use_lock`, which wins over
it); while one is active every reference resolves through it, and a name that is missing from it
is an error (:func:`pin_for`), never a silent ``latest``. :class:`record_inputs` writes the
inputs a block of code actually resolved as a lock file.

This module is bookkeeping only: it never reads the store and knows nothing of the catalog. The
catalog asks :func:`active_lock` before resolving, :func:`pin_for` for the pinned version, and
calls :func:`note_resolved` after every successful resolution. Both the active lock and the open
recorders are process-wide: every thread sees the same.
"""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from eoscatalog.core.errors import ConfigError, ConflictError, NotFoundError
from eoscatalog.lock.folder_pin import LockedFolder
from eoscatalog.lock.lock_file import LockFile
from eoscatalog.lock.pin import LockedInput, Pinnable

__all__ = [
    "LockActivation",
    "active_lock",
    "note_resolved",
    "pin_for",
    "record_inputs",
    "recording",
    "use_lock",
]

ENV_VAR = "EOS_LOCK"


def pin_for(lock: LockFile, namespace: str, name: str) -> LockedInput:
    """The pin an active lock holds for a name; a name it lacks raises NotFoundError.

    The catalog calls this instead of resolving ``latest`` while a lock is active: a missing
    name is an error, never a silent fallback.

    >>> pin_for(LockFile(), "org", "x.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.core.errors.NotFoundError: eos://org/x.csv is not in the active lock (not saved): ...
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

class _Follow(enum.Enum):
    """The state when no use_lock() is in force: EOS_LOCK decides (an enum, so the type
    checker tells it from a LockFile and from None)."""

    ENV = "env"


_FOLLOW_ENV = _Follow.ENV
_state_mutex = threading.Lock()
_state: LockFile | _Follow | None = _FOLLOW_ENV  # None: locking off
_env_cache: tuple[tuple[str, int, int, int], LockFile] | None = None


class LockActivation:
    """What :func:`use_lock` returns: the switch is already made; ``with`` undoes it on exit.

    ``lock`` is the lock now in force (None: locking is off); :meth:`restore` (or leaving the
    ``with`` block) puts back whatever was in force before.
    """

    def __init__(self, lock: LockFile | None, previous: LockFile | _Follow | None) -> None:
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
        return state
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
Members = Mapping[str, tuple[int, str]]  # a folder version's names: name -> (version, hash)
Noted = LockedInput | LockedFolder


def recording() -> bool:
    """True while a :class:`record_inputs` block is open (the catalog then describes a folder
    read, which costs a listing, only when someone records it).

    >>> recording()
    False
    """
    with _recorders_mutex:
        return bool(_recorders)


class record_inputs:  # lower case: it reads like a function, `with record_inputs(path):`
    """Record every input resolved while the block runs, and write them as a lock file.

    Every resolution in the process counts, from any thread (work handed to a thread pool is
    recorded), so blocks open at the same time, nested or in other threads, each record
    everything resolved while they are open. The file is written only when the block ends
    normally: after an exception nothing is written and an existing file is left as it was.
    If the block read two versions of one name, the file is not written either and ConflictError
    says which (a lock holds one version per name). The path is made absolute on entry.
    A folder read (a name in a folder version, ``x.zarr@3/a``, or a recursive download) is one
    folder entry; a name also read on its own under it is left out when its version is the one
    the folder version holds, and is a conflict when it is another.

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
        self._conflicts: list[tuple[Noted, Noted]] = []
        self._members: dict[tuple[str, str], Members] = {}
        self._entered = False

    @property
    def conflicts(self) -> tuple[tuple[Noted, Noted], ...]:
        """(first seen, later seen) for each name (or folder) resolved to two different
        versions, and (folder, name) for a name read at another version than its folder's."""
        with _recorders_mutex:
            return tuple(self._conflicts)

    def note(self, pin: Noted, members: Members | None = None) -> None:
        """Add one resolved input (what :func:`note_resolved` does for every open recorder);
        a folder's ``members`` (name -> (version, hash)) let a name read under it be checked."""
        try:
            if isinstance(pin, LockedFolder):
                self.lock.pin_folder(pin)
                if members is not None:
                    with _recorders_mutex:
                        self._members.setdefault(pin.key, members)
                return
            self.lock.pin(pin)
        except ConflictError:
            first: Noted | None = (self.lock.folder_for(*pin.key) if isinstance(pin, LockedFolder)
                                   else self.lock.lookup(pin.namespace, pin.name))
            if first is None:
                raise RuntimeError(
                    f"internal error: the lock refused a pin for {pin.uri} but "
                    "holds none; please report it"
                ) from None
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
        self._fold_names_into_folders()
        conflicts = self.conflicts
        if conflicts:
            listing = "; ".join(f"{a.uri} and then {b.uri}" for a, b in conflicts)
            raise ConflictError(
                f"{self.path} was not written: the block read {listing}, and a lock holds one "
                "version per name. Pin those references (name@N, or the folder's version "
                "x.zarr@N/) in the analysis and run it again"
            )
        self.lock.save(self.path)
        self.written = True

    def _fold_names_into_folders(self) -> None:
        """Drop each name pin its folder pin gives the same version; a name read at another
        version than the folder version it is in holds is a conflict."""
        with _recorders_mutex:
            members = dict(self._members)
        for pin in self.lock.inputs:
            folder = self.lock.folder_for(pin.namespace, pin.name)
            held = members.get(folder.key) if folder is not None else None
            if folder is None or held is None or pin.name not in held:
                continue  # not in a folder read (or added after it): the name pin stays
            if held[pin.name] == (pin.version, pin.hash):
                self.lock.unpin(pin.namespace, pin.name)
            else:
                with _recorders_mutex:
                    self._conflicts.append((folder, pin))

    def __repr__(self) -> str:
        return f"record_inputs({str(self.path)!r}, {len(self.lock)} inputs)"


def note_resolved(record: LockedInput | LockedFolder | Pinnable,
                  members: Members | None = None) -> None:
    """Tell every open :class:`record_inputs` block that ``record`` (a version, or a folder
    version with its ``members``: name -> (version, hash)) was resolved.

    The catalog calls it after each successful resolution; with no block open it does nothing.

    >>> note_resolved(LockedInput("org", "x", 1, "blake3:" + "0" * 64))  # nobody recording
    """
    with _recorders_mutex:
        recorders = tuple(_recorders)
    if not recorders:
        return
    pin = record if isinstance(record, LockedFolder) else LockedInput.from_record(record)
    for recorder in recorders:
        recorder.note(pin, members)


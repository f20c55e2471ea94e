"""Sync planning: what ``eos sync`` will do, decided by pure functions before anything moves.

A plan is a list of :class:`Action` values; ``--dry-run`` prints it, a real run carries it out
(uploads in parallel, then ONE changeset with every new version and delete marker). Files are
compared by hash; the hash cache makes an unchanged local file cost a ``stat`` only.
"""

from __future__ import annotations

import fnmatch
import os
import stat as stat_module
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.names import Location, validate_name
from eoscatalog.core.tempfiles import is_temp_name
from eoscatalog.log.records import VersionRecord

__all__ = [
    "Action",
    "LocalFile",
    "PathFilter",
    "check_clashes",
    "check_one_file_per_name",
    "check_targets",
    "excluded",
    "plan_copy",
    "plan_download",
    "plan_upload",
    "safe_target",
    "scan_local",
]


@dataclass(frozen=True)
class LocalFile:
    """A file under the synced folder: its path relative to it (with ``/``), its path as the
    folder was given (``where``; ``path`` as a Path) and absolute, its size and stat."""

    relative: str
    where: str
    size: int
    stat: os.stat_result | None = field(default=None, compare=False, repr=False)  # as scanned
    absolute: str = field(default="", compare=False, repr=False)

    @property
    def path(self) -> Path:
        """The file's path (under the folder as it was given)."""
        return Path(self.where)


@dataclass(frozen=True)
class Action:
    """One step of a sync: ``upload``, ``download``, ``copy`` (catalog to catalog, no byte
    moves), ``delete-remote`` or ``delete-local``.

    ``relative`` is the path under the folder and the name under the prefix alike.
    """

    kind: str
    relative: str
    size: int | None
    reason: str

    def describe(self, local_root: str, remote_root: str) -> str:
        """One line for people, as ``aws s3 sync --dryrun`` prints it.

        For a sync within the catalog, ``local_root`` is the source prefix and ``remote_root``
        the destination prefix.

        >>> Action("copy", "a.csv", 3, "new").describe("eos://org/p1/", "eos://org/p2/")
        'copy: eos://org/p1/a.csv to eos://org/p2/a.csv (new, no bytes moved)'
        """
        if self.kind == "copy":
            return (f"copy: {local_root}{self.relative} to {remote_root}{self.relative} "
                    f"({self.reason}, no bytes moved)")
        local = os.path.join(local_root, *self.relative.split("/"))
        remote = remote_root + self.relative
        if self.kind == "upload":
            return f"upload: {local} to {remote} ({self.reason})"
        if self.kind == "download":
            return f"download: {remote} to {local} ({self.reason})"
        if self.kind == "delete-remote":
            return f"delete: {remote} (not in {local_root})"
        return f"delete: {local} (not in {remote_root})"


def excluded(relative: str, patterns: Sequence[str], include: Sequence[str] = ()) -> bool:
    """True when a path matches an ``--exclude`` glob and no ``--include`` glob (each on the
    whole path or its file name): an include keeps what an exclude would leave out, whatever
    order they were given in.

    >>> excluded("a/b/x.tmp", ["*.tmp"]), excluded("cache/x", ["cache/*"]), excluded("x", [])
    (True, True, False)
    >>> excluded("keep.tmp", ["*.tmp"], ["keep.*"]), excluded("x.csv", [], ["*.csv"])
    (False, False)
    """
    return _matches(relative, patterns) and not _matches(relative, include)


@dataclass(frozen=True)
class PathFilter:
    """The ``--exclude`` and ``--include`` globs of a sync or a ``cp -r``."""

    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()

    def leaves_out(self, relative: str) -> bool:
        """True when ``relative`` matches an exclude and no include."""
        return excluded(relative, self.exclude, self.include)


def _matches(relative: str, patterns: Sequence[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(relative, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def scan_local(root: Path, exclude: Sequence[str] = (),
               include: Sequence[str] = ()) -> Iterator[LocalFile]:
    """Every regular file under ``root`` (symlinks to files followed, to folders not), sorted,
    less those ``exclude`` leaves out (and ``include`` does not keep) and eoscatalog's own temp
    files (``.eos-tmp-*``, whatever ``include`` says)."""
    if not root.is_dir():
        what = "is a file" if root.exists() else "does not exist"
        raise NotADirectoryError(f"cannot sync {root}: it {what}; sync takes a folder")
    found = []

    def unreadable(error: OSError) -> None:
        # A folder that cannot be read must not look empty: --delete would delete its names.
        raise error

    given, top = str(root), os.path.abspath(root)
    for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, top)
        under = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        for filename in filenames:
            if is_temp_name(filename):
                continue  # eoscatalog's own, never a name (see tempfiles)
            relative = under + filename
            try:
                relative.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidNameError(
                    f"cannot sync {os.path.join(dirpath, filename)!r}: its name is not UTF-8; "
                    "rename it or leave it out with --exclude"
                ) from None
            relative = unicodedata.normalize("NFC", relative)  # as names are stored
            if exclude and excluded(relative, exclude, include):
                continue
            full = os.path.join(dirpath, filename)
            try:
                st = os.stat(full)  # one stat per file: symlinks followed, as is_file() would
            except FileNotFoundError:
                continue  # removed while we walked
            if not stat_module.S_ISREG(st.st_mode):
                continue  # sockets, fifos, devices
            found.append(LocalFile(relative, given + full[len(top):], st.st_size, st, full))
    found.sort(key=lambda f: f.relative)
    yield from found


def _check_names(prefix: str, files: Iterable[LocalFile],
                 known: Mapping[str, object] | None = None) -> None:
    """Refuse files whose names could not be stored (names in ``known`` already are)."""
    for f in files:
        if known is not None and prefix + f.relative in known:
            continue
        try:
            validate_name(prefix + f.relative)
        except InvalidNameError as e:
            raise InvalidNameError(
                f"cannot sync {f.path}: {e}; rename it or leave it out with --exclude"
            ) from None


def plan_upload(
    files: Sequence[LocalFile],
    remote: Mapping[str, VersionRecord],
    hash_of: Callable[[LocalFile], str],
    *,
    prefix: str,
    delete: bool = False,
) -> list[Action]:
    """Actions that make the names under ``prefix`` hold the folder's files.

    ``remote`` maps names (full, with the prefix) to their latest version; ``hash_of`` gives a
    local file's hash (through the hash cache, so unchanged files are not read). A file whose
    size differs from the remote version is new without hashing at all.
    """
    check_one_file_per_name(files)
    _check_names(prefix, files, remote)
    actions = []
    seen = set()
    for f in files:
        name = prefix + f.relative
        seen.add(name)
        record = remote.get(name)
        if record is None or record.is_delete_marker:
            actions.append(Action("upload", f.relative, f.size, "new"))
        elif record.size != f.size or record.hash != hash_of(f):
            actions.append(Action("upload", f.relative, f.size, "changed"))
    if delete:
        for name, record in sorted(remote.items()):
            if name not in seen and not record.is_delete_marker:
                actions.append(Action("delete-remote", name[len(prefix):], record.size, "gone"))
    return actions


def plan_download(
    remote: Mapping[str, VersionRecord],
    files: Sequence[LocalFile],
    hash_of: Callable[[LocalFile], str],
    *,
    prefix: str,
    delete: bool = False,
    where: str = "one folder",
) -> list[Action]:
    """Actions that make the folder hold the latest versions of the names under ``prefix``.

    Names that cannot all be files (``a`` and ``a/b``) are refused before anything moves;
    ``where`` names the folder in that message, as the user wrote it.
    """
    check_clashes([(Location(r.namespace, name).uri, name[len(prefix):])
                   for name, r in remote.items() if not r.is_delete_marker], where)
    check_one_file_per_name(files)
    local = {f.relative: f for f in files}
    actions = []
    for name, record in sorted(remote.items()):
        if record.is_delete_marker:
            continue
        relative = name[len(prefix):]
        f = local.get(relative)
        if f is None:
            actions.append(Action("download", relative, record.size, "new"))
        elif f.size != record.size or hash_of(f) != record.hash:
            actions.append(Action("download", relative, record.size, "changed"))
    if delete:
        live = {name[len(prefix):] for name, r in remote.items() if not r.is_delete_marker}
        for relative in sorted(local):
            if relative not in live:
                actions.append(Action("delete-local", relative, local[relative].size, "gone"))
    return actions


def plan_copy(
    source: Mapping[str, VersionRecord],
    dest: Mapping[str, VersionRecord],
    *,
    source_prefix: str,
    dest_prefix: str,
    delete: bool = False,
) -> list[Action]:
    """Actions that make the names under ``dest_prefix`` hold what ``source_prefix`` holds.

    Both maps give each name (full, with its prefix) its latest version. A name is copied when
    the destination lacks it, is deleted, or holds other bytes (compared by hash); with
    ``delete``, destination names the source lacks get delete markers.

    >>> from eoscatalog.log.records import VersionRecord as V
    >>> def v(name, h):
    ...     return V("org", name, 1, "put", h, 1, "2026-01-01T00:00:00.000000Z", "ada", "", 1)
    >>> src = {"a/x": v("a/x", "blake3:1"), "a/y": v("a/y", "blake3:2")}
    >>> dst = {"b/y": v("b/y", "blake3:2"), "b/z": v("b/z", "blake3:3")}
    >>> [(a.kind, a.relative) for a in plan_copy(src, dst, source_prefix="a/",
    ...                                          dest_prefix="b/", delete=True)]
    [('copy', 'x'), ('delete-remote', 'z')]
    """
    actions = []
    live = set()
    for name, record in sorted(source.items()):
        if record.is_delete_marker:
            continue
        relative = name[len(source_prefix):]
        live.add(relative)
        target = dest.get(dest_prefix + relative)
        if target is None or target.is_delete_marker:
            validate_name(dest_prefix + relative)  # a longer prefix may break the length rule
            actions.append(Action("copy", relative, record.size, "new"))
        elif target.hash != record.hash:
            actions.append(Action("copy", relative, record.size, "changed"))
    if delete:
        for name, record in sorted(dest.items()):
            relative = name[len(dest_prefix):]
            if relative not in live and not record.is_delete_marker:
                actions.append(Action("delete-remote", relative, record.size, "gone"))
    return actions


def check_clashes(files: Iterable[tuple[str, str]], where: str) -> None:
    """Refuse names that cannot all be files in one folder (``p`` and ``p/a.txt``), before
    anything is written. ``files`` are ``(uri, path under the folder)`` pairs.

    >>> check_clashes([("eos://org/p", "p"), ("eos://org/p/a.txt", "p/a.txt")], "./dir")
    Traceback (most recent call last):
    ...
    eoscatalog.core.errors.InvalidNameError: eos://org/p and eos://org/p/a.txt cannot both be files in ./dir: copy one of them on its own (eos cp eos://org/p ./p.file), or leave it out with --exclude 'p'
    """  # noqa: E501 - a doctest's expected line
    by_path = {relative: uri for uri, relative in files}
    for relative, uri in sorted(by_path.items()):
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            head = "/".join(parts[:depth])
            if head in by_path:
                clash = by_path[head]
                raise InvalidNameError(
                    f"{clash} and {uri} cannot both be files in {where}: copy one of them on "
                    f"its own (eos cp {clash} ./{parts[depth - 1]}.file), or leave it out with "
                    f"--exclude '{head}'"
                )


def check_one_file_per_name(files: Iterable[LocalFile]) -> None:
    r"""Refuse two local files that are one name once normalized (names are NFC, file systems
    keep what they were given), naming both, before anything is stored.

    >>> a, b = (LocalFile("caf\u00e9.txt", f"d/{n}", 1) for n in ("caf\u00e9.txt", "cafe\u0301.txt"))
    >>> check_one_file_per_name([a, b])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.core.errors.InvalidNameError: d/... ('caf\xe9.txt') and d/... ('cafe\u0301.txt') differ only in Unicode normalization, so both would be the name 'caf\xe9.txt': rename one of them
    """  # noqa: E501 - a doctest's expected line
    seen: dict[str, LocalFile] = {}
    for f in files:
        first = seen.setdefault(f.relative, f)
        if first is not f:
            a, b = first.where, f.where
            raise InvalidNameError(
                f"{a} ({os.path.basename(a)!a}) and {b} ({os.path.basename(b)!a}) "
                f"differ only in Unicode normalization, so both would be the name "
                f"{f.relative!a}: rename one of them"
            )


def check_targets(root: Path, files: Sequence[tuple[str, str]], where: str) -> list[Path]:
    """Where each ``(uri, path under root)`` goes, every one checked before anything is
    written: no two clash (:func:`check_clashes`), none lands outside ``root`` or where a file
    stands in the way (:func:`safe_target`). Each folder on the way is looked at once, not
    once per file in it."""
    check_clashes(files, where)
    base = root.resolve()
    checked: set[Path] = set()
    return [safe_target(root, relative, base=base, checked=checked) for _, relative in files]


def safe_target(root: Path, relative: str, *, base: Path | None = None,
                checked: set[Path] | None = None) -> Path:
    """Where a name's file goes under ``root``, refusing anything that would land outside it
    (a symlinked folder on the way) or clash with a file where a folder must be.

    ``base`` is ``root`` resolved, and ``checked`` the folders already found safe (both for
    many targets in a row).

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> safe_target(root, "a/b.csv") == root / "a" / "b.csv"
    True
    """
    target = root.joinpath(*relative.split("/"))
    if checked is None or target.parent not in checked:
        _check_folder(root, target, root.resolve() if base is None else base)
        if checked is not None:
            checked.add(target.parent)
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder")
    return target


def _check_folder(root: Path, target: Path, base: Path) -> None:
    """Refuse a target whose nearest existing folder is a file or leads outside ``root``."""
    parent = target.parent
    while parent != root and not parent.exists():
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(
            f"cannot write {target}: {parent} is a file where a folder must be"
        )
    if not parent.resolve().is_relative_to(base):
        raise InvalidNameError(
            f"cannot write {target}: {parent} leads outside {root} (a symlink); nothing is "
            "written through links out of the destination"
        )

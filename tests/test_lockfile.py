"""Lock files (eoscatalog.lock.lock_file):
the format, its round trip, every refusal, the active lock
(use_lock and EOS_LOCK) and recording the inputs a block resolved. No store, no network."""

from __future__ import annotations

import os
import random
import re
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eoscatalog.core.errors import (
    ConfigError,
    ConflictError,
    EosError,
    InvalidNameError,
    NotFoundError,
)
from eoscatalog.core.names import MAX_VERSION, validate_name
from eoscatalog.lock import active as locking
from eoscatalog.lock import lock_file as lockfile
from eoscatalog.lock.active import (
    LockActivation,
    active_lock,
    note_resolved,
    pin_for,
    record_inputs,
    use_lock,
)
from eoscatalog.lock.lock_file import FORMAT, HEADER, LockFile
from eoscatalog.lock.pin import LockedInput
from eoscatalog.log.records import VersionRecord

H1 = "blake3:" + "1" * 64
H2 = "blake3:" + "2" * 64
H3 = "blake3:" + "3" * 64


@pytest.fixture(autouse=True)
def _fresh_lock_state() -> Iterator[None]:
    """Every test starts with no use_lock() in force, no cached EOS_LOCK and no recorders."""
    locking._reset()
    yield
    locking._reset()


def pin(name: str = "x.csv", version: int = 1, hash: str = H1, *, namespace: str = "org",
        size: int | None = 10) -> LockedInput:
    return LockedInput(namespace, name, version, hash, size)


def record(name: str = "x.csv", version: int = 1, hash: str | None = H1, *,
           namespace: str = "org", kind: str = "put", purged: bool = False) -> VersionRecord:
    return VersionRecord(namespace, name, version, kind, hash, None if hash is None else 10,
                         "2026-01-01T00:00:00.000000Z", "ada", purged=purged)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- LockedInput ---------------------------------------------------------------------------------


def test_locked_input_uri_and_dict() -> None:
    p = pin("shared/samples.csv", 3, size=1234)
    assert p.uri == "eos://org/shared/samples.csv@3"
    assert p.key == ("org", "shared/samples.csv")
    assert p.to_dict() == {
        "uri": "eos://org/shared/samples.csv@3", "namespace": "org",
        "name": "shared/samples.csv", "version": 3, "hash": H1, "size": 1234,
    }
    assert LockedInput.from_dict(p.to_dict()) == p


def test_locked_input_without_size_leaves_it_out() -> None:
    p = pin(size=None)
    assert "size" not in p.to_dict()
    assert LockedInput.from_dict(p.to_dict()) == p


def test_locked_input_uri_is_optional_when_reading() -> None:
    data = pin().to_dict()
    del data["uri"]
    assert LockedInput.from_dict(data) == pin()


def test_locked_input_normalizes_hash_and_name() -> None:
    p = LockedInput("org", "cafe\u0301.csv", 1, H1.upper())
    assert p.hash == H1
    assert p.name == "caf\u00e9.csv"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"namespace": "users/me"}, "not 'users/me'"),
        ({"namespace": "scratch/me"}, "not 'scratch/me'"),
        ({"namespace": "elsewhere"}, "invalid namespace 'elsewhere'"),
        ({"namespace": "/org/"}, "write it as 'org'"),
        ({"namespace": 7}, "namespace must be a string"),
        ({"name": "a/../b"}, "'..'"),
        ({"name": "a@b"}, "'@'"),
        ({"name": ""}, "may not be empty"),
        ({"name": "\ud800"}, "lone surrogate"),
        ({"version": 0}, "from 1"),
        ({"version": MAX_VERSION + 1}, "from 1 to"),
        ({"version": "3"}, "whole number"),
        ({"version": True}, "whole number"),
        ({"version": 3.0}, "whole number"),
        ({"hash": "blake3:abc"}, "64 hex digits"),
        ({"hash": "sha256:" + "0" * 64}, "64 hex digits"),
        ({"size": -1}, "zero or more"),
        ({"size": "10"}, "whole number of bytes"),
        ({"size": False}, "whole number of bytes"),
    ],
)
def test_locked_input_refuses_bad_fields(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"namespace": "org", "name": "x.csv", "version": 1, "hash": H1}
    fields.update(kwargs)
    with pytest.raises(InvalidNameError) as info:
        LockedInput(**fields)  # type: ignore[arg-type]
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["org", "x"], "must be a mapping"),
        ({"namespace": "org", "name": "x", "version": 1}, "missing key(s) hash"),
        ({"namespace": "org", "name": "x", "version": 1, "hash": H1, "hahs": H1},
         "unknown key(s) 'hahs'"),
        ({"uri": "eos://org/x@2", "namespace": "org", "name": "x", "version": 1, "hash": H1},
         "disagrees"),
    ],
)
def test_locked_input_from_dict_refusals(data: object, message: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        LockedInput.from_dict(data)
    assert message in str(info.value)


def test_locked_input_from_version_record() -> None:
    assert LockedInput.from_record(record("a.csv", 4, H2)) == LockedInput(
        "org", "a.csv", 4, H2, 10
    )
    p = pin()
    assert LockedInput.from_record(p) is p


def test_delete_markers_and_purged_versions_cannot_be_pinned() -> None:
    with pytest.raises(InvalidNameError, match="delete marker"):
        LockedInput.from_record(record(hash=None, kind="delete"))
    with pytest.raises(InvalidNameError, match="purged"):
        LockedInput.from_record(record(purged=True))


# -- LockFile: pins ------------------------------------------------------------------------------


def test_pin_lookup_len_iter_contains() -> None:
    lock = LockFile()
    lock.pin(record("b.csv", 2, H2))
    lock.pin(pin("a.csv", 1))
    lock.pin(pin("z.csv", 1, namespace="public"))
    assert len(lock) == 3
    assert [p.uri for p in lock] == [
        "eos://org/a.csv@1", "eos://org/b.csv@2", "eos://public/z.csv@1"
    ]
    assert lock.lookup("org", "b.csv") == LockedInput("org", "b.csv", 2, H2, 10)
    assert lock.lookup("org", "nope") is None
    assert ("org", "a.csv") in lock
    assert ("public", "a.csv") not in lock
    assert "eos://org/a.csv" not in lock
    assert ("org",) not in lock


def test_pinning_the_same_pin_again_changes_nothing_and_fills_in_the_size() -> None:
    lock = LockFile([pin(size=None)])
    lock.pin(pin(size=None))
    lock.pin(pin(size=10))
    assert lock.lookup("org", "x.csv") == pin(size=10)
    lock.pin(pin(size=None))  # an unknown size never erases a known one
    assert lock.lookup("org", "x.csv") == pin(size=10)
    assert len(lock) == 1


def test_pinning_another_version_raises_conflict_naming_both() -> None:
    lock = LockFile([pin("x.csv", 3)])
    with pytest.raises(ConflictError) as info:
        lock.pin(pin("x.csv", 4, H2))
    message = str(info.value)
    assert "eos://org/x.csv@4" in message and "eos://org/x.csv@3" in message
    assert "replace=True" in message
    assert lock.lookup("org", "x.csv") == pin("x.csv", 3)


def test_pinning_other_bytes_under_the_same_version_is_a_conflict() -> None:
    lock = LockFile([pin("x.csv", 3, H1)], path="eos.lock")
    with pytest.raises(ConflictError) as info:
        lock.pin(pin("x.csv", 3, H2))
    message = str(info.value)
    assert H1[:19] in message and H2[:19] in message
    assert str(Path("eos.lock").absolute()) in message
    with pytest.raises(ConflictError):
        lock.pin(pin("x.csv", 3, H1, size=11))


def test_constructor_refuses_conflicting_pins() -> None:
    with pytest.raises(ConflictError):
        LockFile([pin("x.csv", 1), pin("x.csv", 2, H2)])


def test_replace_changes_a_pin() -> None:
    lock = LockFile([pin("x.csv", 3)])
    lock.pin(pin("x.csv", 4, H2), replace=True)
    assert lock.lookup("org", "x.csv") == pin("x.csv", 4, H2)


def test_same_name_in_two_namespaces_are_two_pins() -> None:
    lock = LockFile([pin(namespace="org"), pin(namespace="users/ada", version=2)])
    assert len(lock) == 2


def test_equality_and_repr() -> None:
    a = LockFile([pin("a"), pin("b")], path="one.lock")
    b = LockFile([pin("b"), pin("a")], path="two.lock")
    assert a == b
    assert a != LockFile([pin("a")])
    assert a != "not a lock"
    assert "2 inputs" in repr(a) and "one.lock" in repr(a)


def test_pin_is_thread_safe() -> None:
    lock = LockFile()
    barrier = threading.Barrier(8)

    def work(t: int) -> None:
        barrier.wait()
        for i in range(200):
            lock.pin(pin(f"t{t}/f{i}", i + 1))
            lock.pin(pin("shared.csv", 1))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lock) == 8 * 200 + 1


# -- LockFile: the file --------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    lock = LockFile([
        pin("shared/samples.csv", 3, size=1234),
        pin("ünïcødé/ with spaces .txt", 1, H2, namespace="users/ada", size=None),
        pin("yes", 2, H3, namespace="public", size=0),
        pin("123", 7, H3, namespace="scratch/bob"),
    ])
    path = lock.save(tmp_path / "eos.lock")
    assert path == tmp_path / "eos.lock" and lock.path == path
    loaded = LockFile.load(path)
    assert loaded == lock
    assert loaded.path == path
    assert [p.size for p in loaded] == [p.size for p in lock]


def test_the_format_is_exactly_as_documented(tmp_path: Path) -> None:
    path = LockFile([pin("shared/samples.csv", 3, size=1234)]).save(tmp_path / "eos.lock")
    assert path.read_text(encoding="utf-8") == (
        "# eoscatalog lock file: exact inputs; `eos lock` writes it, "
        "EOS_LOCK=<this file> uses it\n"
        "format: 1\n"
        "inputs:\n"
        "- uri: eos://org/shared/samples.csv@3\n"
        "  namespace: org\n"
        "  name: shared/samples.csv\n"
        "  version: 3\n"
        f"  hash: {H1}\n"
        "  size: 1234\n"
    )
    assert lockfile.__doc__ is not None and HEADER.strip() in lockfile.__doc__


def test_an_empty_lock_saves_and_loads(tmp_path: Path) -> None:
    path = LockFile().save(tmp_path / "eos.lock")
    assert path.read_text(encoding="utf-8") == HEADER + f"format: {FORMAT}\ninputs: []\n"
    assert len(LockFile.load(path)) == 0


def test_output_is_deterministic_and_sorted(tmp_path: Path) -> None:
    pins = [pin(f"n{i}/f.csv", i + 1, namespace=ns)
            for i, ns in enumerate(["users/zed", "org", "public", "org", "scratch/a", "org"])]
    outputs = set()
    for seed in range(10):
        shuffled = list(pins)
        random.Random(seed).shuffle(shuffled)
        outputs.add(LockFile(shuffled).save(tmp_path / f"{seed}.lock").read_bytes())
    assert len(outputs) == 1
    keys = [(p.namespace, p.name) for p in LockFile.load(tmp_path / "0.lock")]
    assert keys == sorted(keys)
    assert keys[0] == ("org", "n1/f.csv") and keys[-1] == ("users/zed", "n0/f.csv")


def test_long_names_stay_on_one_line(tmp_path: Path) -> None:
    name = "/".join(["segment-" + "x" * 50] * 15)
    text = LockFile([pin(name)]).save(tmp_path / "eos.lock").read_text(encoding="utf-8")
    assert f"  name: {name}\n" in text


def test_save_makes_parents_and_defaults_to_its_path(tmp_path: Path) -> None:
    lock = LockFile([pin()])
    with pytest.raises(ValueError, match="no path"):
        lock.save()
    target = tmp_path / "deep" / "er" / "eos.lock"
    assert lock.save(target) == target
    lock.pin(pin("y.csv"))
    assert lock.save() == target
    loaded = LockFile.load(target)
    assert len(loaded) == 2
    loaded.pin(pin("z.csv"))
    loaded.save()
    assert len(LockFile.load(target)) == 3


def test_save_is_atomic_and_leaves_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = LockFile([pin("old.csv")]).save(tmp_path / "eos.lock")
    before = target.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lockfile.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        LockFile([pin("new.csv")]).save(target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eos.lock"]
    monkeypatch.undo()
    LockFile([pin("new.csv")]).save(target)
    assert [p.name for p in LockFile.load(target)] == ["new.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eos.lock"]


def test_saved_file_is_readable_by_others_as_the_umask_allows(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = LockFile([pin()]).save(tmp_path / "eos.lock")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_identical_duplicate_entries_are_merged(tmp_path: Path) -> None:
    entry = pin(size=None).to_dict()
    text = lockfile.yaml.safe_dump({"format": 1, "inputs": [entry, pin().to_dict(), entry]})
    loaded = LockFile.load(write(tmp_path / "eos.lock", text))
    assert list(loaded) == [pin()]


GOOD_ENTRY = (
    "- uri: eos://org/x.csv@1\n  namespace: org\n  name: x.csv\n  version: 1\n"
    f"  hash: {H1}\n"
)


def entry_with(**changes: str) -> str:
    """GOOD_ENTRY with some lines changed (value None in YAML terms: the line is dropped)."""
    lines = {"uri": "eos://org/x.csv@1", "namespace": "org", "name": "x.csv", "version": "1",
             "hash": H1}
    lines.update(changes)
    body = [f"{key}: {value}" for key, value in lines.items() if value != "<drop>"]
    return "- " + "\n  ".join(body) + "\n"


BAD_FILES = [
    ("", "is empty"),
    ("# only a comment\n", "is empty"),
    ("- a\n- b\n", "must be a mapping"),
    ("format: 1\ninputs: [\n", "is not valid YAML (line"),
    ("format: 1\n\tinputs: []\n", "is not valid YAML"),
    ("format: 1\ninputs: []\nextra: 1\n", "unknown key(s) 'extra'"),
    ("inputs: []\n", "has no 'format'"),
    ("format: 3\ninputs: []\n", "newer eoscatalog: upgrade"),
    ("format: '1'\ninputs: []\n", "has format '1'"),
    ("format: true\ninputs: []\n", "has format True"),
    ("format: 1\n", "has no 'inputs' list"),
    ("format: 1\ninputs: {}\n", "has no 'inputs' list"),
    ("format: 1\ninputs:\n- just a string\n", "inputs[0]: an input must be a mapping"),
    ("format: 1\ninputs:\n" + entry_with(hash="<drop>"), "inputs[0] (eos://org/x.csv@1): missing"),
    ("format: 1\ninputs:\n" + GOOD_ENTRY + "  hahs: x\n", "unknown key(s) 'hahs'"),
    ("format: 1\ninputs:\n" + entry_with(hash="blake3:1234"), "invalid hash 'blake3:1234'"),
    ("format: 1\ninputs:\n" + entry_with(hash="md5:" + "0" * 32), "expected 'blake3:'"),
    ("format: 1\ninputs:\n" + entry_with(version="0"), "version must be from 1"),
    ("format: 1\ninputs:\n" + entry_with(version="'1'"), "version must be a whole number"),
    ("format: 1\ninputs:\n" + entry_with(version="1.5"), "version must be a whole number"),
    ("format: 1\ninputs:\n" + entry_with(size="-3"), "size must be zero or more"),
    ("format: 1\ninputs:\n" + entry_with(namespace="users/me", uri="<drop>"), "users/me"),
    ("format: 1\ninputs:\n" + entry_with(namespace="team", uri="<drop>"), "invalid namespace"),
    ("format: 1\ninputs:\n" + entry_with(name="a//b", uri="<drop>"), "empty path segment"),
    ("format: 1\ninputs:\n" + entry_with(name="2026-01-01", uri="<drop>"), "must be a string"),
    ("format: 1\ninputs:\n" + entry_with(uri="eos://org/y.csv@1"), "disagrees"),
    ("format: 1\ninputs:\n" + GOOD_ENTRY + "  version: 2\n", "the key 'version' appears twice"),
    ("format: 1\nformat: 1\ninputs: []\n", "the key 'format' appears twice"),
    ("format: 1\ninputs:\n" + GOOD_ENTRY + entry_with(uri="<drop>", version="2", hash=H2),
     "inputs[0] and inputs[1] pin eos://org/x.csv differently"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_lock_files_are_refused_with_a_clear_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "eos.lock", text)
    with pytest.raises(ConfigError) as info:
        LockFile.load(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_conflicting_duplicates_name_both_versions(tmp_path: Path) -> None:
    text = "format: 1\ninputs:\n" + GOOD_ENTRY + entry_with(uri="<drop>", version="2", hash=H2)
    with pytest.raises(ConfigError) as info:
        LockFile.load(write(tmp_path / "eos.lock", text))
    assert "eos://org/x.csv@1" in str(info.value) and "eos://org/x.csv@2" in str(info.value)


def test_a_missing_lock_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        LockFile.load(tmp_path / "nope.lock")
    assert str(tmp_path / "nope.lock") in str(info.value) and "does not exist" in str(info.value)
    assert "eos lock" in str(info.value)


def test_a_directory_or_binary_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        LockFile.load(tmp_path)
    binary = tmp_path / "eos.lock"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        LockFile.load(binary)


def test_relative_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = LockFile([pin()]).save("eos.lock")
    assert path == tmp_path / "eos.lock" and path.is_absolute()
    assert LockFile.load("eos.lock").path == tmp_path / "eos.lock"


def test_from_yaml_round_trip() -> None:
    lock = LockFile([pin(), pin("b", 2, H2)])
    assert LockFile.from_yaml(lock.to_yaml()) == lock


# -- pin_for -------------------------------------------------------------------------------------


def test_pin_for_returns_the_pin(tmp_path: Path) -> None:
    lock = LockFile([pin("x.csv", 3)])
    assert pin_for(lock, "org", "x.csv") == pin("x.csv", 3)


def test_pin_for_a_missing_name_raises_with_the_fix(tmp_path: Path) -> None:
    lock = LockFile([pin("x.csv", 3)])
    path = lock.save(tmp_path / "eos.lock")
    with pytest.raises(NotFoundError) as info:
        pin_for(lock, "org", "other.csv")
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert message.startswith(f"eos://org/other.csv is not in the active lock file {path}: ")
    assert "eos lock" in message and "EOS_LOCK" in message and "use_lock(None)" in message
    with pytest.raises(KeyError):
        pin_for(lock, "public", "x.csv")  # another namespace is another name


def test_pin_for_an_unsaved_lock() -> None:
    with pytest.raises(NotFoundError, match=r"not in the active lock \(not saved\)"):
        pin_for(LockFile(), "org", "x.csv")


# -- use_lock and active_lock --------------------------------------------------------------------


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return LockFile([pin("x.csv", 3)]).save(tmp_path / "eos.lock")


def test_no_lock_by_default() -> None:
    assert active_lock() is None


def test_use_lock_as_a_global_switch(lock_path: Path) -> None:
    activation = use_lock(lock_path)
    assert isinstance(activation, LockActivation)
    lock = active_lock()
    assert lock is activation.lock and lock is not None
    assert lock.lookup("org", "x.csv") == pin("x.csv", 3)
    assert lock.path == lock_path
    seen: list[LockFile | None] = []
    thread = threading.Thread(target=lambda: seen.append(active_lock()))
    thread.start()
    thread.join()
    assert seen == [lock]  # the whole process, every thread
    activation.restore()
    assert active_lock() is None
    activation.restore()  # a second restore does nothing
    assert active_lock() is None


def test_use_lock_as_a_context_manager_restores_the_previous_state(lock_path: Path) -> None:
    outer = LockFile([pin("outer.csv")])
    use_lock(outer)
    with use_lock(lock_path) as inner:
        assert inner is not None and active_lock() is inner
        with use_lock(None) as off:
            assert off is None and active_lock() is None
        assert active_lock() is inner
    assert active_lock() is outer
    use_lock(None)
    assert active_lock() is None


def test_use_lock_restores_even_after_an_exception(lock_path: Path) -> None:
    with pytest.raises(RuntimeError), use_lock(lock_path):
        raise RuntimeError("analysis failed")
    assert active_lock() is None


def test_use_lock_takes_a_lock_file_object() -> None:
    lock = LockFile()
    with use_lock(lock):
        assert active_lock() is lock
        lock.pin(pin())  # the very object: later pins count
        assert pin_for(active_lock(), "org", "x.csv") == pin()  # type: ignore[arg-type]


def test_use_lock_with_a_bad_path_raises_and_changes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        use_lock(tmp_path / "missing.lock")
    assert active_lock() is None
    with pytest.raises(TypeError, match="path, a LockFile or None"):
        use_lock(42)  # type: ignore[arg-type]


def test_use_lock_loads_once_and_does_not_reload(lock_path: Path) -> None:
    with use_lock(str(lock_path)) as lock:
        LockFile([pin("changed.csv")]).save(lock_path)
        assert active_lock() is lock
        assert ("org", "x.csv") in lock


# -- EOS_LOCK ------------------------------------------------------------------------------------


def test_eos_lock_activates_a_lock(lock_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOS_LOCK", str(lock_path))
    lock = active_lock()
    assert lock is not None and lock.path == lock_path
    assert lock.lookup("org", "x.csv") == pin("x.csv", 3)
    assert active_lock() is lock  # loaded once


def test_eos_lock_reloads_when_the_file_changes(
    lock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOS_LOCK", str(lock_path))
    first = active_lock()
    assert first is not None and len(first) == 1
    LockFile([pin("x.csv", 4, H2), pin("y.csv")]).save(lock_path)  # a new file (rename)
    second = active_lock()
    assert second is not first and second is not None
    assert second.lookup("org", "x.csv") == pin("x.csv", 4, H2) and len(second) == 2
    assert active_lock() is second
    # Rewritten in place (same inode), same mtime tick possibly: the size still changes.
    text = lock_path.read_text(encoding="utf-8")
    lock_path.write_text(text.replace("  size: 10\n", "", 1), encoding="utf-8")
    third = active_lock()
    assert third is not second and third is not None
    assert [p.size for p in third] == [None, 10]


def test_eos_lock_naming_a_missing_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOS_LOCK", str(tmp_path / "gone.lock"))
    with pytest.raises(ConfigError) as info:
        active_lock()
    message = str(info.value)
    assert "EOS_LOCK=" in message and str(tmp_path / "gone.lock") in message
    assert "does not exist" in message and "unset EOS_LOCK" in message


def test_eos_lock_file_removed_after_loading_is_an_error(
    lock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOS_LOCK", str(lock_path))
    assert active_lock() is not None
    lock_path.unlink()
    with pytest.raises(ConfigError, match="does not exist"):
        active_lock()


def test_eos_lock_naming_a_bad_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "eos.lock", "format: 9\ninputs: []\n")
    monkeypatch.setenv("EOS_LOCK", str(path))
    with pytest.raises(ConfigError) as info:
        active_lock()
    assert str(path) in str(info.value) and "EOS_LOCK" in str(info.value)


def test_empty_eos_lock_means_no_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOS_LOCK", "")
    assert active_lock() is None


def test_relative_eos_lock_is_relative_to_the_working_folder(
    lock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(lock_path.parent)
    monkeypatch.setenv("EOS_LOCK", lock_path.name)
    lock = active_lock()
    assert lock is not None and lock.path == lock_path


def test_a_relative_eos_lock_stays_put_after_chdir(
    lock_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(lock_path.parent)
    monkeypatch.setenv("EOS_LOCK", lock_path.name)
    assert active_lock().path == lock_path  # type: ignore[union-attr]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / lock_path.name).write_text("format: 1\ninputs: []\n")  # a decoy
    monkeypatch.chdir(elsewhere)
    assert active_lock().path == lock_path  # type: ignore[union-attr]


def test_use_lock_overrides_eos_lock(lock_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOS_LOCK", str(lock_path))
    other = LockFile([pin("other.csv")])
    with use_lock(other):
        assert active_lock() is other
    with use_lock(None):
        assert active_lock() is None  # off, although EOS_LOCK is set
    env_lock = active_lock()
    assert env_lock is not None and env_lock.path == lock_path  # following EOS_LOCK again


# -- record_inputs and note_resolved -------------------------------------------------------------


def test_record_inputs_collects_and_writes_on_exit(tmp_path: Path) -> None:
    path = tmp_path / "inputs.lock"
    with record_inputs(path) as rec:
        note_resolved(record("a.csv", 2, H2))
        note_resolved(record("b.csv", 1, H1, namespace="public"))
        note_resolved(record("a.csv", 2, H2))  # resolved again: one pin
        assert not path.exists()  # written on exit, not before
        assert len(rec.lock) == 2
    assert rec.written
    loaded = LockFile.load(path)
    assert loaded == rec.lock
    assert [p.uri for p in loaded] == ["eos://org/a.csv@2", "eos://public/b.csv@1"]


def test_nothing_is_recorded_outside_a_block(tmp_path: Path) -> None:
    note_resolved(record("before.csv"))
    note_resolved(record(hash=None, kind="delete"))  # nobody recording: not even looked at
    with record_inputs(tmp_path / "inputs.lock") as rec:
        pass
    note_resolved(record("after.csv"))
    assert len(rec.lock) == 0
    assert len(LockFile.load(tmp_path / "inputs.lock")) == 0


def test_record_inputs_writes_nothing_after_an_exception(tmp_path: Path) -> None:
    path = LockFile([pin("previous-run.csv")]).save(tmp_path / "inputs.lock")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="analysis failed"), record_inputs(path) as rec:
        note_resolved(record("a.csv"))
        raise ValueError("analysis failed")
    assert not rec.written
    assert path.read_bytes() == before
    note_resolved(record("later.csv"))
    assert [p.name for p in rec.lock] == ["a.csv"]  # no longer recording


def test_nested_blocks_each_record_what_they_saw(tmp_path: Path) -> None:
    with record_inputs(tmp_path / "outer.lock") as outer:
        note_resolved(record("first.csv"))
        with record_inputs(tmp_path / "inner.lock") as inner:
            note_resolved(record("second.csv"))
        note_resolved(record("third.csv"))
        assert inner.written and not outer.written
    assert [p.name for p in LockFile.load(tmp_path / "inner.lock")] == ["second.csv"]
    assert [p.name for p in LockFile.load(tmp_path / "outer.lock")] == [
        "first.csv", "second.csv", "third.csv"
    ]


def test_resolutions_in_worker_threads_are_recorded(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)

    def work(t: int) -> None:
        barrier.wait()
        for i in range(50):
            note_resolved(record(f"t{t}/f{i}.csv", i + 1))
            note_resolved(record("shared.csv", 1))

    with record_inputs(tmp_path / "inputs.lock") as rec:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(rec.lock) == 8 * 50 + 1
    assert LockFile.load(tmp_path / "inputs.lock") == rec.lock


def test_concurrent_blocks_in_two_threads(tmp_path: Path) -> None:
    """Blocks open at the same time each record everything resolved while they are open."""
    a_open, b_open, b_noted, a_noted = (threading.Event() for _ in range(4))
    recorders: dict[str, record_inputs] = {}

    def thread_a() -> None:
        with record_inputs(tmp_path / "a.lock") as rec:
            recorders["a"] = rec
            note_resolved(record("only-a.csv"))  # before b opened
            a_open.set()
            b_open.wait(5)
            note_resolved(record("from-a.csv"))
            a_noted.set()
            b_noted.wait(5)

    def thread_b() -> None:
        a_open.wait(5)
        with record_inputs(tmp_path / "b.lock") as rec:
            recorders["b"] = rec
            b_open.set()
            note_resolved(record("from-b.csv"))
            b_noted.set()
            a_noted.wait(5)

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    a = [p.name for p in LockFile.load(tmp_path / "a.lock")]
    b = [p.name for p in LockFile.load(tmp_path / "b.lock")]
    assert a == ["from-a.csv", "from-b.csv", "only-a.csv"]
    assert b == ["from-a.csv", "from-b.csv"]
    assert recorders["a"].written and recorders["b"].written


def test_two_versions_of_one_name_are_a_conflict_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "inputs.lock"
    rec = record_inputs(path)
    with pytest.raises(ConflictError) as info, rec:
        note_resolved(record("x.csv", 3, H1))
        note_resolved(record("x.csv", 4, H2))  # latest moved while the analysis ran
        note_resolved(record("x.csv", 4, H2))
    message = str(info.value)
    assert str(path) in message and "was not written" in message
    assert "eos://org/x.csv@3" in message and "eos://org/x.csv@4" in message
    assert not path.exists() and not rec.written
    assert len(rec.conflicts) == 1
    assert rec.conflicts[0][0].version == 3 and rec.conflicts[0][1].version == 4


def test_recording_a_delete_marker_is_refused(tmp_path: Path) -> None:
    with record_inputs(tmp_path / "inputs.lock"), pytest.raises(InvalidNameError):
        note_resolved(record(hash=None, kind="delete"))


def test_record_inputs_path_is_fixed_on_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    with record_inputs("inputs.lock") as rec:
        os.chdir(tmp_path / "elsewhere")
        note_resolved(record())
    assert rec.path == tmp_path / "inputs.lock"
    assert (tmp_path / "inputs.lock").exists()
    assert not (tmp_path / "elsewhere" / "inputs.lock").exists()


def test_a_recorder_is_entered_once(tmp_path: Path) -> None:
    rec = record_inputs(tmp_path / "inputs.lock")
    with rec:
        pass
    with pytest.raises(RuntimeError, match="only once"), rec:
        pass
    assert "inputs.lock" in repr(rec)


def test_a_recorded_lock_is_accepted_by_use_lock(tmp_path: Path) -> None:
    """The reproducibility loop: record, then rerun under the lock; outside it, an error."""
    path = tmp_path / "inputs.lock"
    with record_inputs(path):
        note_resolved(record("samples.csv", 3, H3))
        note_resolved(record("model.bin", 1, H1, namespace="users/ada"))
    with use_lock(path) as lock:
        assert lock is not None
        active = active_lock()
        assert active is lock
        assert pin_for(active, "org", "samples.csv").version == 3
        assert pin_for(active, "users/ada", "model.bin").hash == H1
        with pytest.raises(NotFoundError, match=re.escape("eos://org/new.csv is not in the")):
            pin_for(active, "org", "new.csv")
        # Rerunning under the lock while recording again gives the same file, byte for byte.
        with record_inputs(tmp_path / "rerun.lock"):
            for p in active:
                note_resolved(p)
    assert (tmp_path / "rerun.lock").read_bytes() == path.read_bytes()


def test_every_error_is_an_eos_error(tmp_path: Path) -> None:
    for call in (
        lambda: LockFile.load(tmp_path / "nope"),
        lambda: pin_for(LockFile(), "org", "x"),
        lambda: LockFile([pin("x", 1), pin("x", 2)]),
        lambda: pin(namespace="users/me"),
    ):
        with pytest.raises(EosError):
            call()


# -- property: any valid inputs round trip ------------------------------------------------------


def _valid_name(text: str) -> bool:
    try:
        validate_name(text)
    except (InvalidNameError, UnicodeEncodeError):
        return False
    return True


segments = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
names = st.lists(segments, min_size=1, max_size=4).map("/".join).filter(_valid_name)
users = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}", fullmatch=True).filter(
    lambda u: u != "me"
)
namespaces = st.one_of(
    st.sampled_from(["org", "public"]),
    users.map(lambda u: f"users/{u}"),
    users.map(lambda u: f"scratch/{u}"),
)
locked_inputs = st.builds(
    LockedInput,
    namespace=namespaces,
    name=names,
    version=st.integers(1, MAX_VERSION),
    hash=st.binary(min_size=32, max_size=32).map(lambda b: "blake3:" + b.hex()),
    size=st.none() | st.integers(0, 2**63 - 1),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    pins=st.lists(locked_inputs, max_size=12, unique_by=lambda p: p.key),
    seed=st.integers(0, 2**32),
)
def test_property_any_valid_inputs_round_trip(pins: list[LockedInput], seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        lock = LockFile(pins)
        first = lock.save(Path(folder) / "eos.lock")
        loaded = LockFile.load(first)
        assert loaded == lock
        assert {p.key: p for p in loaded} == {p.key: p for p in pins}
        shuffled = list(pins)
        random.Random(seed).shuffle(shuffled)
        second = LockFile(shuffled).save(Path(folder) / "again.lock")
        assert second.read_bytes() == first.read_bytes()
        assert loaded.save(Path(folder) / "third.lock").read_bytes() == first.read_bytes()

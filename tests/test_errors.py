"""The exception tree: the classes, their bases (as drawn in errors.py's docstring), messages and
the extra attributes some of them carry."""

from __future__ import annotations

import copy
import pickle
import re

import pytest

from eoscatalog.core import errors
from eoscatalog.core.errors import (
    AmbiguousReferenceError,
    ConfigError,
    ConflictError,
    DeletedError,
    EosError,
    IntegrityError,
    InvalidCatalogFileError,
    InvalidChangesetError,
    InvalidMetadataError,
    InvalidNameError,
    NameExistsError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    StoreError,
)

# The tree as errors.py's docstring draws it: class -> its direct bases.
EXPECTED_BASES: dict[type[BaseException], tuple[type[BaseException], ...]] = {
    EosError: (Exception,),
    NotFoundError: (EosError, KeyError),
    DeletedError: (NotFoundError,),
    InvalidNameError: (EosError, ValueError),
    InvalidMetadataError: (EosError, ValueError),
    AmbiguousReferenceError: (EosError, ValueError),
    InvalidCatalogFileError: (EosError, ValueError),
    IntegrityError: (EosError,),
    PermissionDeniedError: (EosError, PermissionError),
    ConflictError: (EosError,),
    PreconditionFailedError: (ConflictError,),
    NameExistsError: (ConflictError, FileExistsError),
    StoreError: (EosError, OSError),
    InvalidChangesetError: (StoreError,),
    ConfigError: (EosError,),
}
ALL_ERRORS = list(EXPECTED_BASES)
BUILTINS = (KeyError, LookupError, ValueError, PermissionError, OSError, FileExistsError)


def make(cls: type[EosError], message: str = "something went wrong") -> EosError:
    """An instance of any class of the tree, with its required extra arguments."""
    if cls is IntegrityError:
        return IntegrityError(message, expected="blake3:aa", actual="blake3:bb")
    if cls is DeletedError:
        return DeletedError(message, deleted_at="2026-06-01T00:00:00Z", deleted_by="ada")
    return cls(message)


def parse_docstring_tree(doc: str) -> dict[str, tuple[str, ...]]:
    """Read the tree drawn in the module docstring into {class name: (base names)}."""
    tree: dict[str, tuple[str, ...]] = {}
    parents = ["EosError"]
    for line in doc.splitlines():
        m = re.match(r"^(\s*)([│ ]*)[├└]── (\w+)(?:\((\w+)\))?", line)
        if not m:
            continue
        depth = len(m.group(2)) // 4
        name, builtin = m.group(3), m.group(4)
        del parents[depth + 1 :]
        tree[name] = (parents[depth], builtin) if builtin else (parents[depth],)
        parents.append(name)
    return tree


def test_module_exports_exactly_the_tree() -> None:
    assert sorted(errors.__all__) == errors.__all__
    exported = {getattr(errors, name) for name in errors.__all__}
    assert exported == {*ALL_ERRORS, errors.EosWarning}  # the tree, and the one warning class
    assert issubclass(errors.EosWarning, UserWarning)


def test_docstring_tree_matches_the_classes() -> None:
    assert errors.__doc__
    drawn = parse_docstring_tree(errors.__doc__)
    actual = {
        cls.__name__: tuple(base.__name__ for base in cls.__bases__)
        for cls in ALL_ERRORS
        if cls is not EosError
    }
    assert drawn == actual


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_bases(cls: type[EosError]) -> None:
    assert cls.__bases__ == EXPECTED_BASES[cls]
    assert issubclass(cls, EosError)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_only_the_intended_builtins_are_inherited(cls: type[EosError]) -> None:
    intended = {b for c in cls.__mro__ for b in EXPECTED_BASES.get(c, ()) if b in BUILTINS}
    expanded = {b for b in BUILTINS if any(issubclass(i, b) for i in intended)}
    assert {b for b in BUILTINS if issubclass(cls, b)} == expanded


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_is_caught_as_eos_error_and_shows_its_message(cls: type[EosError]) -> None:
    with pytest.raises(EosError) as info:
        raise make(cls, "what happened; what to do next")
    assert str(info.value) == "what happened; what to do next"
    assert type(info.value) is cls


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_errors_survive_pickling(cls: type[EosError]) -> None:
    # Errors cross process boundaries (multiprocessing, concurrent.futures workers).
    original = make(cls)
    for clone in (pickle.loads(pickle.dumps(original)), copy.copy(original)):
        assert type(clone) is cls
        assert str(clone) == str(original)
        assert vars(clone) == vars(original)


def test_not_found_error_is_a_key_error_with_a_plain_message() -> None:
    err = NotFoundError("no name 'x' in users/ada")
    assert isinstance(err, KeyError) and isinstance(err, LookupError)
    # KeyError would show "\"no name 'x' in users/ada\"" (a quoted repr); ours is the sentence.
    assert str(err) == "no name 'x' in users/ada"
    with pytest.raises(KeyError) as info:
        raise err
    assert str(info.value) == "no name 'x' in users/ada"


def test_deleted_error_carries_when_and_who() -> None:
    err = DeletedError(
        "x was deleted; run eos undelete x", deleted_at="2026-06-01T00:00:00Z", deleted_by="bob"
    )
    assert (err.deleted_at, err.deleted_by) == ("2026-06-01T00:00:00Z", "bob")
    assert str(err) == "x was deleted; run eos undelete x"
    assert isinstance(err, NotFoundError) and isinstance(err, KeyError)
    with pytest.raises(NotFoundError):
        raise err


def test_deleted_error_attributes_default_to_empty() -> None:
    err = DeletedError("gone")
    assert (err.deleted_at, err.deleted_by) == ("", "")


def test_deleted_error_attributes_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        DeletedError("gone", "2026-06-01", "bob")  # type: ignore[misc]


def test_integrity_error_carries_expected_and_actual() -> None:
    err = IntegrityError("blob is corrupt", expected="blake3:aa", actual="blake3:bb")
    assert (err.expected, err.actual) == ("blake3:aa", "blake3:bb")
    assert str(err) == "blob is corrupt"
    assert not isinstance(err, (ValueError, OSError))


def test_integrity_error_requires_both_hashes() -> None:
    with pytest.raises(TypeError):
        IntegrityError("corrupt")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        IntegrityError("corrupt", expected="blake3:aa")  # type: ignore[call-arg]


def test_store_error_is_an_os_error() -> None:
    with pytest.raises(OSError) as info:
        raise StoreError("cannot reach s3://bucket/org: connection refused")
    assert str(info.value) == "cannot reach s3://bucket/org: connection refused"


def test_permission_denied_is_a_permission_error_and_an_os_error() -> None:
    err = PermissionDeniedError("ada may not write users/bob")
    assert isinstance(err, PermissionError) and isinstance(err, OSError)
    assert str(err) == "ada may not write users/bob"


def test_value_errors() -> None:
    for cls in (InvalidNameError, AmbiguousReferenceError):
        with pytest.raises(ValueError):
            raise cls("bad")


def test_precondition_failed_is_a_conflict() -> None:
    with pytest.raises(ConflictError):
        raise PreconditionFailedError("catalog/org/log/00000000000000000001 exists")


def test_error_without_arguments_shows_its_class_name() -> None:
    assert str(EosError()) == "EosError"
    assert str(NotFoundError()) == "NotFoundError"
    assert str(ConfigError()) == "ConfigError"


def test_message_that_is_not_a_string_is_shown_with_str() -> None:
    assert str(NotFoundError(42)) == "42"

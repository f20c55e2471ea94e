"""The public API: ``eoscatalog.__all__`` is sorted and complete (as httpx's
tests/test_exported_members.py checks), every module's ``__all__`` resolves, and every
docstring example in the package runs, so the examples cannot rot."""

from __future__ import annotations

import doctest
import importlib
import importlib.metadata
import inspect
import pkgutil
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

import eoscatalog

# Private names that are part of the public surface anyway.
INCLUDED_PRIVATE_MEMBERS = {"__version__"}


def module_names() -> list[str]:
    """Every module of the package; ``__main__`` is left out (importing it may run the CLI)."""
    names = [eoscatalog.__name__]
    for info in pkgutil.walk_packages(eoscatalog.__path__, eoscatalog.__name__ + "."):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            names.append(info.name)
    return sorted(names)


MODULES = module_names()


def test_all_is_sorted() -> None:
    assert eoscatalog.__all__ == sorted(eoscatalog.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(eoscatalog.__all__) == len(set(eoscatalog.__all__))


def test_all_is_complete() -> None:
    """Everything public in the package namespace is exported, and nothing else (``dir``:
    ``S3Store`` joins the module's ``vars`` only when first used)."""
    public = {
        name
        for name, member in ((name, getattr(eoscatalog, name)) for name in dir(eoscatalog))
        if (not name.startswith("_") or name in INCLUDED_PRIVATE_MEMBERS)
        and not isinstance(member, ModuleType)  # submodules become attributes once imported
        and type(member).__module__ != "__future__"  # `from __future__ import annotations`
    }
    assert sorted(public) == eoscatalog.__all__


@pytest.mark.parametrize("name", eoscatalog.__all__)
def test_every_exported_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from eoscatalog import {name}", namespace)
    assert namespace[name] is getattr(eoscatalog, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from eoscatalog import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == eoscatalog.__all__


@pytest.mark.parametrize(
    "name", [n for n in eoscatalog.__all__ if n not in INCLUDED_PRIVATE_MEMBERS]
)
def test_exported_objects_are_eoscatalogs_own_and_documented(name: str) -> None:
    member = getattr(eoscatalog, name)
    assert inspect.isclass(member) or inspect.isfunction(member), name
    assert member.__module__.startswith("eoscatalog."), member.__module__
    assert inspect.getdoc(member), f"eoscatalog.{name} has no docstring"


def test_the_main_names_of_the_design_are_exported() -> None:
    expected = {
        "Catalog", "Config", "EosError", "NotFoundError", "DeletedError", "InvalidNameError",
        "IntegrityError", "PermissionDeniedError", "ConflictError", "StoreError",
        "MemoryStore", "LocalStore", "S3Store", "open_store", "hash_bytes", "hash_file",
        "parse_reference",
    }
    assert expected <= set(eoscatalog.__all__)


def test_version_matches_the_installed_distribution() -> None:
    assert eoscatalog.__version__ == importlib.metadata.version("eoscatalog")


@pytest.mark.parametrize("module_name", MODULES)
def test_module_all_names_exist(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    assert len(exported) == len(set(exported)), f"duplicates in {module_name}.__all__"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what the module lacks: {missing}"


@pytest.mark.parametrize("module_name", MODULES)
def test_doctests(
    module_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Examples that make temporary files make them under this test's tmp_path.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, verbose=False, report=True)
    report = capsys.readouterr().out
    assert result.failed == 0, report


@pytest.mark.parametrize(
    "module_name",
    ["eoscatalog", "eoscatalog.core.errors", "eoscatalog.core.names", "eoscatalog.core.hashing",
     "eoscatalog.local.hash_cache", "eoscatalog.local.config"],
)
def test_core_modules_have_examples(module_name: str) -> None:
    """The doctest run above is not vacuous: the modules it must cover do have examples."""
    finder = doctest.DocTestFinder()
    examples = sum(len(t.examples) for t in finder.find(importlib.import_module(module_name)))
    assert examples > 0

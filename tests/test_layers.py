"""The package's layers, read from its syntax trees (the imports of every module).

- Every module belongs to a layer (a folder of the package, listed in ``LAYERS`` from the bottom
  up); a module imports only from its own layer and the ones below it. ``if TYPE_CHECKING:``
  imports count too: an annotation that names an upper layer is a dependency all the same.
- No module imports one that imports it back (directly or through others), whatever runs first.
- The faces (``transfer``, ``sdk``, ``ui``, ``cli``) reach the catalog through ``Catalog``
  only: below the catalog layer they import the value types and pure rules
  (``FACES_MAY_IMPORT``), never the store, the log, the index or the caches.
- A class spans one file: no class inherits from a class of another module of the package, except
  the bases made for it (the ``Store`` protocol, the exception tree).
- No module is longer than ``MAX_LINES`` lines.

Every ``import`` counts, at the top of a module or inside a function (an import deferred to a
function still makes the modules depend on each other).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "eoscatalog"

# From the bottom up. docs/architecture.md draws the same list.
LAYERS = ["core", "store", "log", "local", "lock", "rules", "interchange", "catalog", "transfer",
          "sdk", "ui", "cli"]
# What the faces may import from the layers below `catalog`, besides Catalog itself.
FACES = {"transfer", "sdk", "ui", "cli"}
FACES_MAY_IMPORT = {
    "eoscatalog.core",           # errors, names, units, hashes: the vocabulary of the API
    "eoscatalog.log.records",    # VersionRecord, Event, Usage: what Catalog returns
    "eoscatalog.log.folder_version",  # FolderVersion, Snapshot: what Catalog.folders returns
    "eoscatalog.log.snapshot",
    "eoscatalog.local.config",   # Config: the settings eos init and eos config edit
    "eoscatalog.local.home",     # one-line errors for an EOS_HOME that cannot be written
    "eoscatalog.lock",           # the lock file API (public)
    "eoscatalog.rules",          # pure decisions: how a listing groups, retention rules
    "eoscatalog.interchange",    # pure file formats
    "eoscatalog.catalog.catalog",
}
# The one client of plain s3:// URLs (not a catalog's store) is the store layer's S3 client.
FACE_EXCEPTIONS = {("eoscatalog.transfer.external", "eoscatalog.store.s3.client")}
MAX_LINES = 400

# Cycles closed only by imports under `if TYPE_CHECKING:` (annotations), as sets of modules.
KNOWN_TYPE_ONLY_CYCLES: dict[frozenset[str], str] = {
    frozenset({"eoscatalog.store.base", "eoscatalog.store.outboard"}):
        "outboard.py's functions take the Store (base.py) that saves and loads outboards",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(name: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The package's modules one import statement of module ``name`` loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in MODULES}
    if node.level:
        package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
        parts = package.split(".")
        base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module
                                                                    else []))
    else:
        base = node.module or ""
    if base not in MODULES:
        return set()
    # `from . import cli_data` loads a module; `from .store import S3Store` the package.
    return {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}


def _imports(name: str) -> tuple[set[str], set[str]]:
    """The modules ``name`` imports: (run when it runs, only under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"), filename=str(MODULES[name]))
    runtime: set[str] = set()
    typing_only: set[str] = set()

    def visit(node: ast.AST, into: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.body:
                    visit_statement(stmt, typing_only)
                for stmt in child.orelse:
                    visit_statement(stmt, into)
            else:
                visit_statement(child, into)

    def visit_statement(node: ast.AST, into: set[str]) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            into.update(_targets(name, node))
        else:
            visit(node, into)

    visit(tree, runtime)
    runtime.discard(name)
    typing_only.discard(name)
    return runtime, typing_only - runtime


def _graph(*, with_type_checking: bool) -> dict[str, set[str]]:
    graph = {}
    for name in MODULES:
        runtime, typing_only = _imports(name)
        graph[name] = runtime | typing_only if with_type_checking else runtime
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, with an
    explicit stack: no recursion limit to meet)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def _describe(cycles: set[frozenset[str]], graph: dict[str, set[str]]) -> list[str]:
    return [", ".join(f"{m} -> {sorted(graph[m] & cycle)}" for m in sorted(cycle))
            for cycle in sorted(cycles, key=sorted)]


def test_the_cycle_finder_finds_cycles() -> None:
    """The check below would see one: a three-module ring, a pair, and a chain that is none."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d", "a"}, "f": {"a"},
             "g": set()}
    assert _cycles(graph) == {frozenset("abc"), frozenset("de")}


def test_the_import_reader_sees_every_form() -> None:
    """Absolute imports of modules and of names, deferred into functions, under TYPE_CHECKING."""
    assert {"eoscatalog.cli.common", "eoscatalog.cli.data"} <= _imports("eoscatalog.cli.main")[0]
    assert {"eoscatalog.core.errors", "eoscatalog.store.base",
            "eoscatalog.store.s3.store"} <= _imports("eoscatalog.store")[0]
    assert "eoscatalog.store.base" in _imports("eoscatalog.store.outboard")[1]
    assert "eoscatalog.cli.demo" in _imports("eoscatalog.cli.core")[0]  # inside `def demo`


def test_no_module_of_the_package_imports_itself_back() -> None:
    """No import cycle among the modules, whatever runs first: an import that runs, at the top
    or inside a function, never leads back to the importing module."""
    graph = _graph(with_type_checking=False)
    cycles = _cycles(graph)
    assert not cycles, f"import cycles: {_describe(cycles, graph)}"


def test_type_only_import_cycles_are_the_known_ones() -> None:
    """Counting the imports under ``if TYPE_CHECKING:``, only the listed cycles close; a new
    one fails, and so does a listed one that is gone (take it off the list)."""
    graph = _graph(with_type_checking=True)
    cycles = _cycles(graph)
    new = cycles - KNOWN_TYPE_ONLY_CYCLES.keys()
    gone = KNOWN_TYPE_ONLY_CYCLES.keys() - cycles
    assert not new, f"new import cycles through TYPE_CHECKING imports: {_describe(new, graph)}"
    assert not gone, f"no longer cycles, take them off KNOWN_TYPE_ONLY_CYCLES: {gone}"


def _layer(module: str) -> str | None:
    """The layer of a module: its folder under the package (None for the package itself and
    ``__main__``, which sit on top)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] != "__main__" else None


def _within(module: str, allowed: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def test_every_module_is_in_a_layer() -> None:
    """Every folder of the package is a layer of the list, and no module lies loose beside
    ``__init__.py`` and ``__main__.py``."""
    for name in MODULES:
        layer = _layer(name)
        if name in ("eoscatalog", "eoscatalog.__main__"):
            continue
        assert layer in LAYERS, f"{name} is in no layer: put it in one of {LAYERS}"
        assert name != f"eoscatalog.{layer}" or MODULES[name].name == "__init__.py", (
            f"{name} lies loose in the package: move it into a layer's folder")


def test_no_import_points_up() -> None:
    """A module imports from its own layer and those below it only (TYPE_CHECKING included)."""
    graph = _graph(with_type_checking=True)
    upward = []
    for name, targets in sorted(graph.items()):
        layer = _layer(name)
        if layer is None:
            continue
        for target in sorted(targets):
            target_layer = _layer(target)
            if target_layer is None or LAYERS.index(target_layer) > LAYERS.index(layer):
                upward.append(f"{name} ({layer}) imports {target} ({target_layer or 'top'})")
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


def test_the_faces_call_the_catalog_only() -> None:
    """transfer, sdk, ui and cli import nothing from the layers below the catalog but the value
    types and pure rules; of the catalog layer, Catalog only."""
    graph = _graph(with_type_checking=True)
    below = set(LAYERS[:LAYERS.index("catalog") + 1])
    reaching = []
    for name, targets in sorted(graph.items()):
        if _layer(name) not in FACES:
            continue
        for target in sorted(targets):
            if (_layer(target) in below and not _within(target, FACES_MAY_IMPORT)
                    and (name, target) not in FACE_EXCEPTIONS):
                reaching.append(f"{name} imports {target}")
    assert not reaching, "faces that reach below Catalog:\n" + "\n".join(reaching)


def test_the_layer_checks_see_an_upward_import() -> None:
    """The checks above would fail on a store module importing the catalog, or a face importing
    the index."""
    assert LAYERS.index("store") < LAYERS.index("catalog")
    assert not _within("eoscatalog.log.index", FACES_MAY_IMPORT)
    assert _within("eoscatalog.core.errors", FACES_MAY_IMPORT)
    assert _layer("eoscatalog.store.s3.client") == "store"
    assert _layer("eoscatalog.__main__") is None


ALLOWED_BASES = {"eoscatalog.store.base.Store", "eoscatalog.core.errors"}


def _package_classes() -> dict[str, str]:
    """Every class defined in the package: name -> defining module."""
    found: dict[str, str] = {}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                found.setdefault(node.name, name)
    return found


def test_no_class_spans_files() -> None:
    """No mixins: a class inherits from no class of another module of the package, but the
    bases made to be subclassed (the Store protocol, the exception tree)."""
    defined = _package_classes()
    spanning = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for base in node.bases:
                base_name = ast.unparse(base).rpartition(".")[2].split("[")[0]
                home = defined.get(base_name)
                if home is None or home == name:
                    continue
                if f"{home}.{base_name}" in ALLOWED_BASES or home in ALLOWED_BASES:
                    continue
                spanning.append(f"{name}.{node.name} inherits {home}.{base_name}")
    assert not spanning, "classes spread over modules:\n" + "\n".join(spanning)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_too_long_to_read_in_one_sitting(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES}): split it"

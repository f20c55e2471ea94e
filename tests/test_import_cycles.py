"""The package's imports, read from its syntax trees: no module imports one that imports it back
(directly or through others), and the ``eos`` command modules import downward only.

Every ``import`` counts, at the top of a module or inside a function (an import deferred to a
function still makes the modules depend on each other); those under ``if TYPE_CHECKING:`` are
read separately, since they never run: the cycles they close are listed below, each with its
reason, and any other fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "eoscatalog"

# Cycles closed only by imports under `if TYPE_CHECKING:` (annotations), as sets of modules.
KNOWN_TYPE_ONLY_CYCLES: dict[frozenset[str], str] = {
    frozenset({"eoscatalog.store.base", "eoscatalog.store.outboard"}):
        "outboard.py's functions take the Store (base.py) that saves and loads outboards",
    frozenset({"eoscatalog.collecting", "eoscatalog.maintenance"}):
        "collect() fills the GcReport that maintenance.py defines and returns",
    frozenset({"eoscatalog.filesystem", "eoscatalog.ranged"}):
        "BlobFile (ranged.py) is opened by the EosFileSystem it keeps a reference to",
}

COMMAND_MODULES = {"eoscatalog.cli_core", "eoscatalog.cli_data", "eoscatalog.cli_versions",
                   "eoscatalog.cli_maintenance", "eoscatalog.cli_catalogs", "eoscatalog.cli_admin"}


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
    """Relative and absolute imports, of modules and of names, deferred into functions."""
    runtime, typing_only = _imports("eoscatalog.cli")
    assert COMMAND_MODULES | {"eoscatalog", "eoscatalog.cli_common"} <= runtime
    runtime, typing_only = _imports("eoscatalog.store")
    assert {"eoscatalog.errors", "eoscatalog.store.base", "eoscatalog.store.s3"} <= runtime
    runtime, typing_only = _imports("eoscatalog.ranged")
    assert "eoscatalog.filesystem" in typing_only
    assert "eoscatalog.demo" in _imports("eoscatalog.cli_core")[0]  # inside `def demo`


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


def test_the_cli_modules_import_downward() -> None:
    """cli.py imports the command modules; they import cli_common.py and no other cli module;
    cli_common.py imports none."""
    cli_modules = {m for m in MODULES if m == "eoscatalog.cli" or m.startswith("eoscatalog.cli_")}
    assert cli_modules == COMMAND_MODULES | {"eoscatalog.cli", "eoscatalog.cli_common"}
    graph = _graph(with_type_checking=True)
    assert graph["eoscatalog.cli"] >= COMMAND_MODULES
    for module in sorted(COMMAND_MODULES):
        assert graph[module] & cli_modules == {"eoscatalog.cli_common"}, module
    assert not graph["eoscatalog.cli_common"] & cli_modules
    assert not any("eoscatalog.cli" in graph[m] for m in MODULES if m != "eoscatalog.__main__")

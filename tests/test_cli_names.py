"""The ``eos`` commands and the Catalog methods they call share their names, and the group holds
exactly the commands the command modules define."""

from __future__ import annotations

import ast
import inspect
import textwrap

import click
import pytest

from eoscatalog import Catalog
from eoscatalog.cli.main import COMMAND_MODULES, cli
from eoscatalog.store import MemoryStore

# Commands that call the Catalog but under another name, and why.
OTHER_NAMES = {
    "cat": "streams the verified cache entry (Catalog.open_cached, in use while it streams) to "
           "standard output, never holding the whole blob in memory as Catalog.cat does",
    "lock": "writes a lock file of what Catalog.resolve answers: locking is not a Catalog call",
    "import": "calls Catalog.import_yaml: `import` is a Python keyword, and YAML the one format",
}


def _catalog_calls(command: click.Command) -> set[str]:
    """The Catalog methods the command's own code calls on the catalog it opens (``with
    open_catalog() as cat``)."""
    if command.callback is None:
        return set()
    tree = ast.parse(textwrap.dedent(inspect.getsource(command.callback)))
    opened = {item.optional_vars.id for node in ast.walk(tree) if isinstance(node, ast.With)
              for item in node.items
              if isinstance(item.context_expr, ast.Call)
              and isinstance(item.context_expr.func, ast.Name)
              and item.context_expr.func.id == "open_catalog"
              and isinstance(item.optional_vars, ast.Name)}
    return {node.func.attr for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id in opened
            and hasattr(Catalog, node.func.attr)}


def test_each_command_calls_the_catalog_method_of_its_name() -> None:
    """`eos log` calls Catalog.log, `eos du` Catalog.du, `eos versions` Catalog.versions...:
    a command that calls the Catalog calls the method named like it, or is listed above."""
    differ = {}
    for name, command in sorted(cli.commands.items()):
        calls = _catalog_calls(command)
        if isinstance(command, click.Group) or not calls:
            continue  # groups, and commands going through cp.py, sync.py, config.py, demo.py
        if name not in calls:
            differ[name] = sorted(calls)
    assert differ.keys() == OTHER_NAMES.keys(), f"commands calling other names: {differ}"
    assert {"log", "du", "versions", "put", "get", "rm", "tag"} <= {
        name for name, command in cli.commands.items() if name in _catalog_calls(command)}


def test_every_command_a_module_defines_is_on_the_group_once() -> None:
    """cli.py adds each command module's COMMANDS: none defined and left out, none twice."""
    registered = list(cli.commands.values())
    listed = [command for module in COMMAND_MODULES for command in module.COMMANDS]
    assert sorted(map(id, registered)) == sorted(map(id, listed))
    for module in COMMAND_MODULES:
        defined = [obj for obj in vars(module).values() if isinstance(obj, click.Command)]
        below = {id(sub) for obj in defined if isinstance(obj, click.Group)
                 for sub in obj.commands.values()}
        top = {id(obj) for obj in defined if id(obj) not in below}
        assert top == {id(c) for c in module.COMMANDS}, module.__name__


@pytest.fixture()
def catalog() -> Catalog:
    cat = Catalog(MemoryStore(), ":memory:", user="ada")
    cat.put_bytes(b"xy", "p/a.txt")
    cat.put_bytes(b"xy", "p/b.txt")
    cat.put_bytes(b"z", "p/a.txt")
    cat.tag("p/a.txt@1", "v1")
    return cat


def test_the_old_method_names_are_aliases(catalog: Catalog) -> None:
    """history, usage and read_bytes (public since their start) answer as log, du and cat."""
    assert [e.what for e in catalog.log("p/", 3)] == ["tag v1", "put", "put"]
    assert catalog.history("p/", 3) == catalog.log("p/", 3)
    assert catalog.history() == catalog.log()
    assert (catalog.du("p/").names, catalog.du("p/").stored) == (2, 3)
    assert catalog.usage("p/") == catalog.du("p/")
    assert catalog.cat("p/a.txt@1") == catalog.read_bytes("p/a.txt@1") == b"xy"
    for old, new in (("history", "log"), ("usage", "du"), ("read_bytes", "cat")):
        # The very same method under its old name.
        assert getattr(Catalog, old) is getattr(Catalog, new)

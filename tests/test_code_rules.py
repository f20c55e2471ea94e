"""Rules the package's source keeps, checked on its syntax tree."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "eoscatalog"


def test_the_package_has_no_assert_statements() -> None:
    """``python -O`` strips asserts: a check that must hold raises an error instead."""
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if isinstance(node, ast.Assert)
    ]
    assert found == [], f"{len(found)} assert statements in the package: {found}"

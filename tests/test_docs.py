"""The docs stay true: every command documented, the README's commands are the ones CI runs,
and docs/architecture.md names every module."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from eoscatalog.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = (ROOT / "docs" / "cli.md").read_text()


def _section(name: str) -> str:
    match = re.search(rf"^## eos {re.escape(name)}\n(.*?)(?=^## |\Z)", CLI_DOC, re.M | re.S)
    assert match, f"docs/cli.md has no '## eos {name}' section"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_and_a_documented_section(name: str) -> None:
    command = cli.commands[name]
    assert command.help and command.help.strip(), f"eos {name} has no help text"
    assert "Example:" in command.help, f"eos {name}'s help has no example"
    section = _section(name)
    assert "```bash" in section and f"eos {name}" in section, f"no example for eos {name}"
    for param in command.params:
        if isinstance(param, click.Option):
            longest = max(param.opts, key=len)
            assert longest in section, f"docs/cli.md does not describe eos {name} {longest}"


def test_every_documented_command_exists() -> None:
    documented = re.findall(r"^## eos (\S+)", CLI_DOC, re.M)
    assert sorted(documented) == sorted(cli.commands)


def test_readme_commands_and_ci() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    assert blocks[0].strip() == "pip install . && eos demo"
    test_command = blocks[1].strip()
    assert test_command == ('apt-get update -qq && apt-get install -y -qq chromium && '
                            'pip install ".[test]" && python -m pytest')
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines(), ".ci/run must run exactly the README's test command"


def test_architecture_names_every_module() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "eoscatalog"
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if path.name in ("__init__.py", "__main__.py"):
            continue
        assert f"`{rel}`" in text, f"docs/architecture.md does not describe {rel}"


def test_changelog_has_unreleased_section() -> None:
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()


def _public_callables() -> list[tuple[str, object]]:
    import importlib
    import inspect
    import pkgutil

    import eoscatalog

    found = []
    for info in pkgutil.walk_packages(eoscatalog.__path__, "eoscatalog."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                found.append((f"{info.name}.{name}", obj))
            elif inspect.isclass(obj):
                found.append((f"{info.name}.{name}", obj))
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not inspect.isfunction(member):
                        continue
                    # getattr + getdoc: an override documented by its base class counts
                    found.append((f"{info.name}.{name}.{attr}", getattr(obj, attr)))
    return found


def test_every_public_function_and_class_has_a_docstring() -> None:
    import inspect

    missing = [name for name, obj in _public_callables() if not inspect.getdoc(obj)]
    assert missing == [], f"public API without docstrings: {missing}"


@pytest.mark.parametrize("where", ["embedded", "s3"])
@pytest.mark.parametrize(("page", "at_least"),
                         [("file.md", 8), ("browsing.md", 5), ("folders.md", 6),
                          ("ui.md", 1)])
def test_the_pages_examples_run(page: str, at_least: int, where: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                request: pytest.FixtureRequest) -> None:
    """The examples of docs/file.md, docs/browsing.md, docs/folders.md and docs/ui.md, in order as
    user ada on the embedded store, and on a store in the S3 test server (as EOS_STORE and the
    standard AWS_ENDPOINT_URL_S3 name it)."""
    import eoscatalog

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S)
    assert len(blocks) >= at_least
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EOS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EOS_USER", "ada")
    if where == "s3":
        server = request.getfixturevalue("s3_server")
        monkeypatch.setenv("EOS_STORE", f"s3://{request.getfixturevalue('s3_bucket')}/acme")
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.endpoint_url)
    eoscatalog.set_default_catalog(None)
    namespace: dict[str, object] = {}
    try:
        for i, block in enumerate(blocks):
            try:
                exec(compile(block, f"docs/{page} block {i + 1}", "exec"), namespace)
            except Exception as e:
                raise AssertionError(f"docs/{page} block {i + 1} failed: {e!r}\n{block}") from e
        used = eoscatalog.default_catalog().store.url
        assert used.startswith("s3://" if where == "s3" else "file://"), used
    finally:
        eoscatalog.default_catalog().close()
        eoscatalog.set_default_catalog(None)

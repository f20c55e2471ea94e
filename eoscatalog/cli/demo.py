"""``eos demo``: the main job end to end on a fresh embedded store in a temporary folder.

Each step prints the command a user would type and what the catalog answers, so the demo doubles
as a tour: an upload, a second version, an identical file under another name stored once, the
version list, a rollback, a delete and an undelete, and a pinned read of version 1.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.cli.output import format_size, short_hash, versions_table
from eoscatalog.core.errors import DeletedError
from eoscatalog.local.config import Config

__all__ = ["run_demo"]

V1 = b"sample,reads,coverage\nS1,1200000,31.2\nS2,980000,27.9\n"
V2 = V1 + b"S3,1410000,35.0\n"


def run_demo(echo: Callable[[str], None] = print, *, keep: bool = False) -> Path:
    """Run the demo, printing each step; return the (removed unless ``keep``) demo folder.

    >>> import io
    >>> out = io.StringIO()
    >>> _ = run_demo(lambda s: print(s, file=out))
    >>> "pinned read of version 1" in out.getvalue()
    True
    """
    folder = Path(tempfile.mkdtemp(prefix="eos-demo-"))
    try:
        _steps(folder, echo)
    finally:
        if keep:
            echo(f"\nThe demo store and files are kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return folder


def _steps(folder: Path, echo: Callable[[str], None]) -> None:
    # The same embedded default a new user gets, with its EOS_HOME in the demo folder.
    config = Config(home=folder / "eos-home", user="demo", org="demo-org")
    name = "project-1/coverage.csv"
    work = folder / "work"
    work.mkdir()
    data = work / "coverage.csv"

    def step(number: int, title: str, command: str) -> None:
        echo(f"\n[{number}/8] {title}\n  $ {command}")

    with Catalog.open(config) as cat:
        store = cat.store

        def blobs() -> int:
            return sum(1 for _ in store.list("blobs/"))

        echo(f"eos demo: a fresh embedded store at {store.url}, user 'demo'")

        data.write_bytes(V1)
        step(1, "upload a file", f"eos put coverage.csv {name}")
        first = cat.put(data, name)
        echo(f"  {first.record.uri}  {format_size(first.record.size)}  "
             f"{short_hash(first.record.hash)}  (blobs in store: {blobs()})")

        data.write_bytes(V2)
        step(2, "upload a changed file: a second version", f"eos put coverage.csv {name}")
        second = cat.put(data, name)
        echo(f"  {second.record.uri}  {format_size(second.record.size)}  "
             f"{short_hash(second.record.hash)}  (blobs in store: {blobs()})")

        copy = work / "coverage-copy.csv"
        copy.write_bytes(V2)
        before = blobs()
        step(3, "the same bytes under another name are stored once",
             "eos put coverage-copy.csv project-2/coverage.csv")
        dup = cat.put(copy, "project-2/coverage.csv")
        echo(f"  {dup.record.uri}  same hash {short_hash(dup.record.hash)}; bytes sent: "
             f"{'yes' if dup.uploaded else 'none'}; blobs in store: {before} -> {blobs()}")

        step(4, "the version list", f"eos versions {name}")
        for line in versions_table(cat.versions(name)).splitlines():
            echo("  " + line)

        step(5, "roll back to version 1 (a new version carrying the old bytes)",
             f"eos rollback {name} --to 1")
        rolled = cat.rollback(name, 1)
        echo(f"  {rolled.uri} now holds version {rolled.source_version}'s bytes "
             f"({short_hash(rolled.hash)})")

        step(6, "delete the name (a delete marker; nothing is lost)", f"eos rm {name}")
        marker = cat.rm(name)
        echo(f"  {marker.uri} is a delete marker")
        try:
            cat.resolve(name)
        except DeletedError as e:
            echo(f"  reading it now says: {e}")

        step(7, "undelete it", f"eos undelete {name}")
        restored = cat.undelete(name)
        echo(f"  {restored.uri} restores version {restored.source_version}; latest reads "
             f"{len(cat.read_bytes(name))} bytes again")

        step(8, "pinned read of version 1, verified against its hash", f"eos get {name}@1")
        out = cat.get(f"{name}@1", work / "coverage-v1.csv")
        same = out.read_bytes() == V1
        echo(f"  {out.name}: {len(out.read_bytes())} bytes, identical to the first upload: "
             f"{'yes' if same else 'NO'}")
        if not same:
            raise AssertionError("the pinned read returned different bytes")

        echo("\nFinal history:")
        for line in versions_table(cat.versions(name)).splitlines():
            echo("  " + line)

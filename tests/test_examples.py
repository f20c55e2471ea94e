"""The example catalogs in catalogs/: rebuilt byte for byte, readable, importable."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import intake
import pandas as pd

from eoscatalog.cli.examples import EXAMPLE_FILES, STORE, build_examples

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "catalogs"


def _blobs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted((folder / STORE).rglob("*")) if p.is_file()}


def test_the_committed_examples_are_what_the_exporters_write(tmp_path: Path) -> None:
    build_examples(tmp_path)
    for name in EXAMPLE_FILES:
        assert (tmp_path / name).read_text() == (CATALOGS / name).read_text(), (
            f"catalogs/{name} is stale: run `python -m eoscatalog.cli.examples catalogs`"
        )
    assert _blobs(tmp_path) == _blobs(CATALOGS)
    assert not (CATALOGS / STORE / "catalog").exists()


def test_the_intake_example_reads_from_a_fresh_clone(tmp_path: Path) -> None:
    # Anywhere the folder is copied to: the entries are relative to the catalog file.
    shutil.copytree(CATALOGS, tmp_path / "catalogs")
    cat = intake.open_catalog(str(tmp_path / "catalogs" / EXAMPLE_FILES[0]))
    assert "example/samples.csv@1" in list(cat) and "example/draft.txt" not in list(cat)
    first = cat["example/samples.csv@1"].read()
    assert first["sample"].tolist() == ["S1", "S2"]
    assert len(cat["example/samples.csv"].read()) == 3
    assert cat["example/counts.parquet"].read()["count"].sum() == 59
    assert list(cat["example/regions.tsv.gz"].read().columns) == ["region", "start", "end"]
    assert cat["example/raw/scan.h5"].read().startswith(b"\x89HDF")
    assert cat["example/samples.csv@1"].metadata["tags"] == ["paper-2026"]


def test_the_yaml_example_imports_into_a_copy_of_the_store(tmp_path: Path) -> None:
    shutil.copytree(CATALOGS / STORE, tmp_path / STORE)
    env = {**os.environ, "EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
           "EOS_STORE": f"file://{tmp_path}", "EOS_ORG": STORE, "PYTHONPATH": str(ROOT)}

    def eos(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "eoscatalog", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=True)
        return done.stdout

    assert "imported 7 names" in eos("import", str(CATALOGS / EXAMPLE_FILES[1]))
    again = eos("export", "yaml", "eos://org/example/")
    assert again == (CATALOGS / EXAMPLE_FILES[1]).read_text()
    versions = json.loads(eos("versions", "eos://org/example/samples.csv", "--json"))
    assert [v["message"] for v in versions] == ["first run", "add S3"]
    tagged = pd.read_csv(io.StringIO(eos("cat", "eos://org/example/samples.csv@paper-2026")))
    assert tagged["reads"].tolist() == [1200000, 980000]

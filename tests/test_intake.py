"""Intake catalogs (`eos export intake`, `Catalog.to_intake`) read by intake 2 and intake 0.7.

Intake 2 is installed beside the tests and reads in this process. Intake 0.7 lives in a virtual
environment the tests build once (cached under ``~/.cache/eoscatalog-tests``) on top of this
interpreter's packages, and reads in a subprocess that prints what it read as JSON. Both read
the same exported files, from the local store and from the S3 server on 127.0.0.1.

Building that environment needs a package index (PyPI, or ``PIP_INDEX_URL``) once. When it
cannot be built the tests that need it FAIL, saying why, in every run (CI or not): a skip would
let a run pass that never read an export with intake 0.7. Offline, deselect them explicitly.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import intake
import pandas as pd
import pytest
import yaml
from conftest import make_bucket

from eoscatalog import Catalog, MemoryStore, StoreError, VersionRecord
from eoscatalog.interchange.intake_catalog import reader_for
from eoscatalog.store import LocalStore, S3Store

ROOT = Path(__file__).resolve().parent.parent

INTAKE07_REQUIREMENTS = ("intake==0.7.0", "intake-parquet==0.3.0", "dask[dataframe]")
# Distinctive fake credentials: the exported file must not contain them.
EXPORT_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAEOSEXPORTTEST0001",
    "AWS_SECRET_ACCESS_KEY": "eos-export-secret/KEY+do-not-write",
    "AWS_SESSION_TOKEN": "eos-export-session-token-do-not-write",
}
METADATA_KEYS = ("namespace", "name", "version", "hash", "size", "created", "author")

# Run by intake 0.7's interpreter: reads every entry of each catalog given, prints JSON.
READ_WITH_INTAKE = r"""
import base64, json, sys
import intake
import pandas as pd

def encode(value):
    if isinstance(value, pd.DataFrame):
        return {"frame": json.loads(value.to_json(orient="records"))}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, list):
        return {"list": [encode(v) for v in value]}
    return {"json": value}

out = {"intake": intake.__version__, "catalogs": {}}
for path in sys.argv[1:]:
    cat = intake.open_catalog(path)
    entries = {}
    for name in list(cat):
        source = cat[name]
        try:
            value = encode(source.read())
        except Exception as e:
            value = {"error": f"{type(e).__name__}: {e}"}
        entries[name] = {"metadata": dict(source.metadata),
                         "described": source.describe()["metadata"], "value": value}
    out["catalogs"][path] = {"names": list(cat), "metadata": dict(cat.metadata or {}),
                             "entries": entries}
print(json.dumps(out, default=str))
"""


# -- intake 0.7 in its own virtual environment ---------------------------------------------------


def _parent_site_packages() -> list[str]:
    paths = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    return [p for i, p in enumerate(paths) if p not in paths[:i] and os.path.isdir(p)]


def _venv_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the venv's interpreter: nothing that would reorder its path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_REQUIRE"))}
    env["PYTHONNOUSERSITE"] = "1"
    return {**env, **(extra or {})}


def _venv_works(python: Path) -> bool:
    if not python.exists():
        return False
    check = ("import intake, intake_parquet, dask.dataframe; "
             "assert intake.__version__ == '0.7.0', intake.__version__")
    return subprocess.run([str(python), "-c", check], env=_venv_env(), capture_output=True,
                          timeout=120).returncode == 0


def _build_venv(folder: Path, extra_env: dict[str, str] | None = None) -> str | None:
    """Build the venv in ``folder``; return why it could not be built, or None."""
    shutil.rmtree(folder, ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(folder)], capture_output=True,
                          text=True, timeout=300)
    if made.returncode != 0:
        return f"python -m venv failed: {made.stderr.strip()[-500:]}"
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, env=_venv_env(), check=True,
    ).stdout.strip()
    # The parent's pandas, pyarrow, fsspec, s3fs and jinja2 serve intake 0.7 as they are.
    Path(purelib, "parent.pth").write_text("\n".join(_parent_site_packages()) + "\n")
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
         *INTAKE07_REQUIREMENTS],
        capture_output=True, text=True, env=_venv_env(extra_env), timeout=600,
    )
    if pip.returncode != 0:
        return f"pip install {' '.join(INTAKE07_REQUIREMENTS)} failed: " \
               f"{pip.stderr.strip()[-800:]}"
    return None


def intake07_python(cache: Path, extra_env: dict[str, str] | None = None) -> Path:
    """The interpreter of a venv holding intake 0.7 under ``cache``, built if missing.

    Fails the calling test (never skips) when the venv cannot be built. ``extra_env`` reaches
    pip (the test of this failure points it at an unreachable index).
    """
    key = hashlib.sha256(json.dumps(
        [INTAKE07_REQUIREMENTS, sys.version, sys.executable, _parent_site_packages()]
    ).encode()).hexdigest()[:16]
    folder = cache / "eoscatalog-tests" / f"intake07-{key}"
    python = folder / "bin" / "python"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"intake07-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time (pytest-xdist, parallel runs)
        if not _venv_works(python):
            problem = _build_venv(folder, extra_env)
            if problem is not None:
                shutil.rmtree(folder, ignore_errors=True)
                pytest.fail(
                    f"cannot build the intake 0.7 environment in {folder}: {problem}\n"
                    "These tests need a package index once (PyPI, or PIP_INDEX_URL) to install "
                    f"{', '.join(INTAKE07_REQUIREMENTS)}; the venv is cached after that. "
                    "Offline, deselect them: -k 'not intake07 and not intake_0_7'",
                    pytrace=False,
                )
            if not _venv_works(python):
                pytest.fail(f"intake 0.7 installed in {folder} but not importable", pytrace=False)
    return python


@pytest.fixture(scope="session")
def intake07() -> Path:
    """The interpreter of a venv holding intake 0.7 (built once, reused across sessions)."""
    return intake07_python(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"))


@pytest.mark.slow
def test_an_unreachable_package_index_fails_the_intake07_tests_loudly(tmp_path: Path) -> None:
    """No silent skip: without an index the intake 0.7 tests fail, saying what is missing."""
    unreachable = {
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",  # the discard port: refused at once
        "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": os.devnull,
        "PIP_RETRIES": "0", "PIP_TIMEOUT": "5", "PIP_NO_CACHE_DIR": "1",
    }
    with pytest.raises(BaseException) as outcome:  # a skip is a BaseException too: caught
        intake07_python(tmp_path / "cache", extra_env=unreachable)
    assert isinstance(outcome.value, pytest.fail.Exception), repr(outcome.value)
    assert "need a package index" in str(outcome.value) and "intake==0.7.0" in str(outcome.value)
    left = [p for p in (tmp_path / "cache" / "eoscatalog-tests").iterdir() if p.is_dir()]
    assert left == []  # no half-built venv


def read_with_intake07(python: Path, *catalogs: Path) -> dict[str, Any]:
    """Every entry of each catalog, read by intake 0.7: ``{path: {names, metadata, entries}}``.

    No endpoint variable reaches it: an S3 entry is read at the endpoint its file names, with
    the test credentials from the environment.
    """
    env = {k: v for k, v in _venv_env().items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_EC2_METADATA_DISABLED="true")
    proc = subprocess.run([str(python), "-c", READ_WITH_INTAKE, *map(str, catalogs)],
                          capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["intake"] == "0.7.0"
    return out["catalogs"]


def read_with_intake2(path: Path) -> dict[str, Any]:
    """Every entry of a catalog read by intake 2 (this process): ``{name: (value, metadata)}``."""
    cat = intake.open_catalog(str(path))
    return {name: (cat[name].read(), dict(cat[name].metadata)) for name in list(cat)}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as intake 0.7's script reports it."""
    return json.loads(frame.to_json(orient="records"))


def assert_same_frame(got: Any, expected: pd.DataFrame) -> None:
    assert isinstance(got, pd.DataFrame), type(got)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)


# -- a store the CLI and the API share -----------------------------------------------------------


@dataclass
class SharedStore:
    """One store root: ``env`` runs the real CLI on it, ``catalog`` is the API over it."""

    kind: str
    env: dict[str, str]
    catalog: Catalog
    endpoint: str | None = None


@pytest.fixture(params=["local", "s3"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SharedStore]:
    env = {"EOS_HOME": str(tmp_path / "cli-home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    endpoint = None
    if request.param == "local":
        store: LocalStore | S3Store = LocalStore(tmp_path / "store" / "default", create=True)
        env["EOS_STORE"] = (tmp_path / "store").as_uri()
    else:
        endpoint = request.getfixturevalue("s3_server").endpoint_url
        bucket = make_bucket(request.getfixturevalue("s3_client"))
        store = S3Store(f"s3://{bucket}/eos/default", endpoint_url=endpoint)
        env.update(EOS_STORE=f"s3://{bucket}/eos", AWS_ENDPOINT_URL=endpoint,
                   **EXPORT_CREDENTIALS)
    catalog = Catalog(store, tmp_path / "api-index.sqlite", user="ada")
    yield SharedStore(request.param, env, catalog, endpoint)
    catalog.close()


def eos(env: dict[str, str], *args: str, code: int = 0) -> str:
    proc = subprocess.run([sys.executable, "-m", "eoscatalog", *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, (args, proc.stdout, proc.stderr)
    return proc.stdout if code == 0 else proc.stderr


# -- data ----------------------------------------------------------------------------------------

TABLE_V1 = pd.DataFrame({"sample": ["s1", "s2", "s3"], "depth": [10, 20, 30],
                         "gc": [0.41, 0.5, 0.39]})
TABLE_V2 = pd.DataFrame({"sample": ["s4", "s5"], "depth": [40, 50], "gc": [0.6, 0.25]})
TABLE_V3 = pd.DataFrame({"sample": ["s9"], "depth": [90], "gc": [0.9]})
CELLS = pd.DataFrame({"cell": ["c1", "c2"], "count": [7, 11], "ok": [True, False]})


def csv_bytes(frame: pd.DataFrame, sep: str = ",") -> bytes:
    return frame.to_csv(index=False, sep=sep).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def expected_frames() -> dict[str, pd.DataFrame]:
    """The frames each entry of the ``t/`` export holds, read back by pandas from the bytes."""
    v1 = pd.read_csv(io.BytesIO(csv_bytes(TABLE_V1)))
    v2 = pd.read_csv(io.BytesIO(csv_bytes(TABLE_V2)))
    cells = pd.read_parquet(io.BytesIO(parquet_bytes(CELLS)))
    return {"t/table.csv": v2, "t/table.csv@1": v1, "t/table.csv@2": v2,
            "t/cells.parquet": cells, "t/cells.parquet@1": cells}


def fill(cat: Catalog) -> None:
    """org/t/: a CSV name with two versions (the first tagged ``paper``) and a Parquet name."""
    cat.put_bytes(csv_bytes(TABLE_V1), "eos://org/t/table.csv")
    cat.put_bytes(csv_bytes(TABLE_V2), "eos://org/t/table.csv")
    cat.put_bytes(parquet_bytes(CELLS), "eos://org/t/cells.parquet")
    cat.put_bytes(b"x", "eos://org/elsewhere.txt")  # outside the prefix: never exported
    cat.tag("eos://org/t/table.csv@1", "paper")


def described(record: VersionRecord) -> dict[str, Any]:
    """The metadata every entry must carry, in both intake generations."""
    return {"namespace": record.namespace, "name": record.name, "version": record.version,
            "hash": record.hash, "size": record.size, "created": record.created,
            "author": record.author}


# -- the tests -----------------------------------------------------------------------------------


def test_both_intake_generations_read_the_export(shared: SharedStore, intake07: Path,
                                                 tmp_path: Path) -> None:
    fill(shared.catalog)
    # A catalog beside a local store may point at it relatively; one elsewhere may not.
    full, tagged = tmp_path / "full.yaml", tmp_path / "tag.yaml"
    latest = tmp_path / "elsewhere" / "latest.yaml"
    eos(shared.env, "export", "intake", "eos://org/t/", "-o", str(full), "--description", "shared")
    eos(shared.env, "export", "intake", "eos://org/t/", "-o", str(latest), "--latest")
    eos(shared.env, "export", "intake", "eos://org/t/", "-o", str(tagged), "--tag", "paper")
    frames = expected_frames()
    wanted = {full: sorted(frames), latest: ["t/cells.parquet", "t/table.csv"],
              tagged: ["t/table.csv"]}
    versions = {name: {v.version: v for v in shared.catalog.versions(f"eos://org/{name}")}
                for name in ("t/table.csv", "t/cells.parquet")}

    def expected_version(path: Path, entry: str) -> int:
        if "@" in entry:
            return int(entry.rsplit("@", 1)[1])
        if path == tagged:
            return 1  # the version tagged paper, not the latest
        return max(versions[entry])

    def expected_frame(path: Path, entry: str) -> pd.DataFrame:
        return frames["t/table.csv@1"] if path == tagged else frames[entry]

    for path, names in wanted.items():
        text = path.read_text()
        doc = yaml.safe_load(text)
        assert doc["version"] == 2 and "version" not in doc["metadata"]
        assert sorted(doc["sources"]) == sorted(doc["entries"]) == sorted(doc["aliases"]) == names
        if shared.kind == "s3":
            for secret in EXPORT_CREDENTIALS.values():
                assert secret not in text
            for entry in names:
                options = doc["sources"][entry]["args"]["storage_options"]
                assert options["client_kwargs"]["endpoint_url"] == shared.endpoint
                assert doc["sources"][entry]["args"]["urlpath"].startswith("s3://")
            for data in doc["data"].values():
                assert data["kwargs"]["storage_options"] == options
        # intake 2, in this process
        cat = intake.open_catalog(str(path))
        assert sorted(cat) == names
        assert "version" not in (cat.metadata or {})
        for entry in names:
            assert_same_frame(cat[entry].read(), expected_frame(path, entry))
            record = versions[entry.split("@")[0]][expected_version(path, entry)]
            assert {k: cat[entry].metadata[k] for k in METADATA_KEYS} == described(record)
    assert intake.open_catalog(str(full)).metadata["description"] == "shared"

    # intake 0.7, in its own environment, reading the very same files
    read = read_with_intake07(intake07, full, latest, tagged)
    for path, names in wanted.items():
        got = read[str(path)]
        assert sorted(got["names"]) == names
        assert "version" not in got["metadata"]
        for entry in names:
            result = got["entries"][entry]
            assert result["value"] == {"frame": records(expected_frame(path, entry))}, entry
            record = versions[entry.split("@")[0]][expected_version(path, entry)]
            for meta in (result["metadata"], result["described"]):
                assert {k: meta[k] for k in METADATA_KEYS} == described(record)
    assert read[str(full)]["metadata"]["description"] == "shared"


def test_an_entry_means_the_same_bytes_after_new_versions_and_rollback(
    shared: SharedStore, tmp_path: Path
) -> None:
    cat = shared.catalog
    fill(cat)
    old = tmp_path / "old.yaml"
    text = cat.to_intake("eos://org/t/", old)
    assert old.read_text() == text
    before = read_with_intake2(old)
    cat.put_bytes(csv_bytes(TABLE_V3), "eos://org/t/table.csv")  # @3
    cat.rollback("eos://org/t/table.csv", 1)  # @4 holds @1's bytes
    cat.put_bytes(parquet_bytes(TABLE_V3), "eos://org/t/cells.parquet")  # @2
    after = read_with_intake2(old)
    assert sorted(after) == sorted(before) == sorted(expected_frames())
    for entry, (frame, meta) in before.items():
        assert_same_frame(after[entry][0], frame)
        assert after[entry][1] == meta
    # The name "t/table.csv" in the old file still means @2, whatever the latest is now.
    assert_same_frame(after["t/table.csv"][0], expected_frames()["t/table.csv@2"])
    # A new export follows the catalog: the name is @4, with @1's bytes; the old pins stay.
    cat.to_intake("eos://org/t/", tmp_path / "new.yaml")
    new = read_with_intake2(tmp_path / "new.yaml")
    assert sorted(new) == sorted([*expected_frames(), "t/table.csv@3", "t/table.csv@4",
                                  "t/cells.parquet@2"])
    assert new["t/table.csv"][1]["version"] == 4
    assert_same_frame(new["t/table.csv"][0], expected_frames()["t/table.csv@1"])
    assert_same_frame(new["t/table.csv@2"][0], before["t/table.csv@2"][0])
    assert_same_frame(new["t/cells.parquet"][0], pd.read_parquet(
        io.BytesIO(parquet_bytes(TABLE_V3))))


def test_entries_are_the_readable_versions_of_live_names(local_store: LocalStore,
                                                         tmp_path: Path) -> None:
    cat = Catalog(local_store, tmp_path / "index.sqlite", user="ada")
    for i in range(2):
        cat.put_bytes(csv_bytes(TABLE_V1.head(i + 1)), "p/a.csv")  # @1, @2
    cat.rm("p/a.csv")  # @3: a delete marker
    cat.undelete("p/a.csv")  # @4
    cat.put_bytes(csv_bytes(TABLE_V3), "p/a.csv")  # @5
    cat.purge("p/a.csv@2")
    cat.put_bytes(csv_bytes(TABLE_V2), "p/gone.csv")
    cat.rm("p/gone.csv")  # not live: no entry at all
    cat.tag("p/a.csv@4", "good")
    doc = yaml.safe_load(cat.to_intake("p/"))
    assert sorted(doc["entries"]) == ["p/a.csv", "p/a.csv@1", "p/a.csv@4", "p/a.csv@5"]
    assert doc["entries"]["p/a.csv"]["metadata"]["version"] == 5
    assert doc["sources"]["p/a.csv@4"]["metadata"]["tags"] == ["good"]
    latest = yaml.safe_load(cat.to_intake("p/", latest_only=True))
    assert list(latest["entries"]) == list(latest["sources"]) == ["p/a.csv"]
    tagged = yaml.safe_load(cat.to_intake("p/", tag="good"))
    assert list(tagged["entries"]) == ["p/a.csv"]
    assert tagged["sources"]["p/a.csv"]["metadata"]["version"] == 4
    assert tagged["metadata"]["eoscatalog"]["tag"] == "good"
    cat.to_intake("p/", tmp_path / "t.yaml", tag="good")
    read = read_with_intake2(tmp_path / "t.yaml")
    assert_same_frame(read["p/a.csv"][0], pd.read_csv(io.BytesIO(csv_bytes(TABLE_V1.head(2)))))
    cat.close()


def test_readers_follow_the_name(local_store: LocalStore, tmp_path: Path) -> None:
    cat = Catalog(local_store, tmp_path / "index.sqlite", user="ada")
    binary = bytes(range(256)) * 3
    files = {
        "r/samples.tsv": csv_bytes(TABLE_V1, sep="\t"),
        "r/SAMPLES.CSV.GZ": gzip.compress(csv_bytes(TABLE_V2), mtime=0),
        "r/config.json": json.dumps({"threshold": 0.5, "runs": [1, 2]}).encode(),
        "r/notes.txt": "first line\nsecond line é\n".encode(),
        "r/model.weights": binary,
    }
    for name, data in files.items():
        cat.put_bytes(data, name)
    path = tmp_path / "readers.yaml"
    doc = yaml.safe_load(cat.to_intake("r/", path, latest_only=True))
    v1, v2 = doc["sources"], doc["entries"]

    def data_of(entry: str) -> dict[str, Any]:
        token = v2[entry]["kwargs"]["args"][0].removeprefix("{data(").removesuffix(")}")
        return doc["data"][token]

    assert (v1["r/samples.tsv"]["driver"], v1["r/samples.tsv"]["args"]["csv_kwargs"]) == \
        ("csv", {"sep": "\t"})
    assert v2["r/samples.tsv"]["reader"] == "intake.readers.readers:PandasCSV"
    assert v2["r/samples.tsv"]["kwargs"]["sep"] == "\t"
    gz = v1["r/SAMPLES.CSV.GZ"]
    assert gz["driver"] == "csv" and gz["args"]["csv_kwargs"]["compression"] == "gzip"
    assert v2["r/SAMPLES.CSV.GZ"]["kwargs"]["compression"] == "gzip"
    assert data_of("r/SAMPLES.CSV.GZ")["datatype"] == "intake.readers.datatypes:CSV"
    assert v1["r/config.json"]["driver"] == "json"
    assert data_of("r/config.json")["datatype"] == "intake.readers.datatypes:JSONFile"
    assert v1["r/notes.txt"]["driver"] == "textfiles"
    assert v2["r/notes.txt"]["reader"] == "intake.readers.readers:FileTextReader"
    weights = v1["r/model.weights"]
    assert weights["driver"] == "textfiles" and weights["args"]["text_mode"] is False
    assert v2["r/model.weights"]["reader"] == "intake.readers.readers:FileByteReader"
    assert {e: v1[e]["metadata"]["kind"] for e in v1} == {
        "r/samples.tsv": "csv", "r/SAMPLES.CSV.GZ": "csv", "r/config.json": "json",
        "r/notes.txt": "text", "r/model.weights": "bytes"}
    # Pure: compression comes off the name before the reader is picked.
    assert (reader_for("a/b.tsv.gz").kind, reader_for("a/b.tsv.gz").kwargs) == \
        ("csv", {"sep": "\t", "compression": "gzip"})
    assert reader_for("x.parquet").kind == "parquet"
    assert reader_for("x.gz").kind == reader_for("x").kind == "bytes"

    read = read_with_intake2(path)
    assert_same_frame(read["r/samples.tsv"][0], TABLE_V1)
    assert_same_frame(read["r/SAMPLES.CSV.GZ"][0], TABLE_V2)
    assert read["r/model.weights"][0] == binary
    assert json.loads(read["r/config.json"][0]) == {"threshold": 0.5, "runs": [1, 2]}
    assert read["r/notes.txt"][0] == "first line\nsecond line é\n"
    cat.close()


def test_intake_0_7_reads_compressed_csv(local_store: LocalStore, intake07: Path,
                                         tmp_path: Path) -> None:
    cat = Catalog(local_store, tmp_path / "index.sqlite", user="ada")
    cat.put_bytes(gzip.compress(csv_bytes(TABLE_V2), mtime=0), "z/table.csv.gz")
    cat.put_bytes(gzip.compress(csv_bytes(TABLE_V1, sep="\t"), mtime=0), "z/table.tsv.gz")
    path = tmp_path / "z.yaml"
    cat.to_intake("z/", path, latest_only=True)
    got = read_with_intake07(intake07, path)[str(path)]["entries"]
    assert got["z/table.csv.gz"]["value"] == {"frame": records(TABLE_V2)}
    assert got["z/table.tsv.gz"]["value"] == {"frame": records(TABLE_V1)}
    cat.close()


def test_intake_2_reads_compressed_text_and_json(local_store: LocalStore,
                                                 tmp_path: Path) -> None:
    cat = Catalog(local_store, tmp_path / "index.sqlite", user="ada")
    cat.put_bytes(gzip.compress(b"alpha\nbeta\n", mtime=0), "z/notes.txt.gz")
    cat.put_bytes(gzip.compress(b'{"k": [1, 2]}', mtime=0), "z/config.json.gz")
    path = tmp_path / "z.yaml"
    cat.to_intake("z/", path, latest_only=True)
    cat.close()
    cat2 = intake.open_catalog(str(path))
    assert cat2["z/notes.txt.gz"].read() == "alpha\nbeta\n"
    assert json.loads(cat2["z/config.json.gz"].read()) == {"k": [1, 2]}


def test_exports_of_nothing_and_from_memory_fail_clearly(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT)}  # and this test's EOS_HOME, where the catalog below is
    with Catalog.open() as cat:
        cat.put_bytes(csv_bytes(TABLE_V1), "eos://org/t/f.csv")
    out = tmp_path / "out" / "c.yaml"
    err = eos(env, "export", "intake", "eos://org/nothing/", "-o", str(out), code=1)
    assert "no names under eos://org/nothing/" in err and "eos ls" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    err = eos(env, "export", "intake", "eos://org/t/", "--tag", "nosuch", "-o", str(out), code=1)
    assert "no names tagged 'nosuch' under eos://org/t/" in err
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []  # no temp file left

    memory = Catalog(MemoryStore(), ":memory:", user="ada")
    memory.put_bytes(b"a\n1\n", "m.csv")
    with pytest.raises(StoreError, match="export from a local or an S3 store"):
        memory.to_intake("", tmp_path / "m.yaml")
    assert not (tmp_path / "m.yaml").exists()


def test_a_catalog_moved_with_its_local_store_still_reads(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    cat = Catalog(LocalStore(bundle / "store" / "default", create=True),
                  tmp_path / "index.sqlite", user="ada")
    fill(cat)
    cat.to_intake("eos://org/t/", bundle / "catalog.yaml")
    cat.close()
    moved = shutil.move(bundle, tmp_path / "moved")
    read = read_with_intake2(Path(moved) / "catalog.yaml")
    assert sorted(read) == sorted(expected_frames())
    for entry, frame in expected_frames().items():
        assert_same_frame(read[entry][0], frame)

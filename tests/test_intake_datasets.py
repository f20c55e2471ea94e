"""Intake entries for datasets: a Zarr store or a Parquet dataset folder is ONE entry, read
through its own pinned folder version (``eos://org/x.zarr@3``), on the local store and S3.

Intake 2 reads in this process through ``eos://`` with the ``cat`` fixture's catalog (the
process's default), as a reader configured for the store does.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import intake
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from eoscatalog import Catalog
from eoscatalog.interchange.datasets import find_datasets

if sys.version_info < (3, 11):  # zarr 3 needs 3.11; the test extra installs it only there
    pytest.skip("zarr 3 needs Python 3.11 or later", allow_module_level=True)


def dataset(seed: int, start: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {"t": (("time", "x"), rng.standard_normal((6, 8)))},
        coords={"time": np.arange(start, start + 6), "x": np.linspace(0.0, 1.0, 8)},
        attrs={"title": "sensor run"},
    )


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def zarr_options(zarr_format: int) -> dict[str, object]:
    # zarr warns that consolidated metadata is not part of format 3: use it with format 2 only
    return {"zarr_format": zarr_format, "consolidated": zarr_format == 2}


def entries(path: Path) -> dict[str, object]:
    doc = yaml.safe_load(path.read_text())
    assert sorted(doc["sources"]) == sorted(doc["entries"]) == sorted(doc["aliases"])
    return dict(doc["entries"])


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_zarr_store_is_one_entry_pinned_to_its_folder_version(
    cat: Catalog, tmp_path: Path, zarr_format: int
) -> None:
    url, options = "eos://org/data/x.zarr", zarr_options(zarr_format)
    first = dataset(1)
    first.chunk({"time": 2}).to_zarr(url, mode="w", **options)
    cat.put_bytes(b"plain\n", "eos://org/data/notes.txt")
    stored = [r.name for r in cat.ls("eos://org/data/x.zarr/", recursive=True).files]
    assert len(stored) > 8
    path = tmp_path / "c.yaml"
    cat.to_intake("eos://org/data/", path)
    doc = yaml.safe_load(path.read_text())
    assert sorted(entries(path)) == ["data/notes.txt", "data/notes.txt@1", "data/x.zarr"]
    snap = cat.folders.snapshot("eos://org/data/x.zarr/")
    assert snap.version == len(cat.folders.versions("eos://org/data/x.zarr/"))
    pinned = snap.uri.rstrip("/")  # eos://org/data/x.zarr@N
    v1, v2 = doc["sources"]["data/x.zarr"], doc["entries"]["data/x.zarr"]
    assert v1["driver"] == "zarr"
    assert v1["args"] == {"urlpath": pinned, "consolidated": zarr_format == 2}
    assert v2["reader"] == "intake.readers.readers:XArrayDatasetReader"
    assert v2["output_instance"] == "xarray:Dataset"
    meta = v2["metadata"]
    assert meta["eos_uri"] == snap.uri and meta["version"] == snap.version
    assert meta["seq"] == snap.seq and meta["kind"] == "zarr"
    assert meta["digest"] == cat.folders.digest(snap)
    assert meta["names"] == len(stored) and meta["size"] == cat.du(snap.uri).logical
    assert ("store" in meta) == cat.store.url.startswith("s3://")
    assert v1["metadata"] == {k: v for k, v in meta.items() if k != "description"}

    read = intake.open_catalog(str(path))["data/x.zarr"].read()
    xr.testing.assert_identical(read.load(), first)

    # Appended to later: the exported entry still reads the dataset as it was exported.
    with cat.transaction("six more steps"):
        dataset(2, start=6)[["t"]].chunk({"time": 2}).to_zarr(url, append_dim="time", **options)
    again = intake.open_catalog(str(path))["data/x.zarr"].read()
    xr.testing.assert_identical(again.load(), first)
    new = tmp_path / "new.yaml"
    cat.to_intake("eos://org/data/x.zarr/", new)
    assert list(entries(new)) == ["data/x.zarr"]
    grown = intake.open_catalog(str(new))["data/x.zarr"].read()
    assert grown.t.shape == (12, 8)
    assert grown.attrs["title"] == "sensor run"
    assert yaml.safe_load(new.read_text())["entries"]["data/x.zarr"]["metadata"]["version"] \
        == snap.version + 1
    # Both URL forms read the pinned version with xarray directly.
    for form in (pinned, pinned + "/"):
        xr.testing.assert_identical(xr.open_zarr(form, **options).load(), first)


def test_a_parquet_dataset_folder_is_one_entry(cat: Catalog, tmp_path: Path) -> None:
    frame = pd.DataFrame({"site": ["a", "a", "b", "c"], "depth": [1, 2, 3, 4],
                          "gc": [0.1, 0.2, 0.3, 0.4]})
    frame.to_parquet("eos://org/lake/hive", partition_cols=["site"], index=False)
    cat.put_bytes(b"", "eos://org/lake/hive/_SUCCESS")
    parts = [frame.iloc[:2], frame.iloc[2:]]
    for i, part in enumerate(parts):
        cat.put_bytes(parquet_bytes(part), f"eos://org/lake/parts/part-{i}.parquet")
    # Not a dataset: one Parquet file beside a CSV; each keeps its entries.
    cat.put_bytes(parquet_bytes(frame), "eos://org/lake/mixed/one.parquet")
    cat.put_bytes(b"a,b\n1,2\n", "eos://org/lake/mixed/two.csv")
    path = tmp_path / "lake.yaml"
    cat.to_intake("eos://org/lake/", path, latest_only=True)
    doc = yaml.safe_load(path.read_text())
    assert sorted(entries(path)) == ["lake/hive", "lake/mixed/one.parquet",
                                     "lake/mixed/two.csv", "lake/parts"]
    hive = doc["sources"]["lake/hive"]
    snap = cat.folders.snapshot("eos://org/lake/hive/")
    assert hive["driver"] == "parquet" and hive["args"] == {"urlpath": snap.uri.rstrip("/")}
    assert hive["metadata"]["names"] == 4  # three partitions and _SUCCESS
    assert doc["entries"]["lake/hive"]["reader"] == "intake.readers.readers:PandasParquet"

    read = intake.open_catalog(str(path))
    got = read["lake/hive"].read()
    got["site"] = got["site"].astype(str)
    pd.testing.assert_frame_equal(
        got[frame.columns].sort_values("depth").reset_index(drop=True), frame)
    pd.testing.assert_frame_equal(read["lake/parts"].read().reset_index(drop=True), frame)
    pd.testing.assert_frame_equal(read["lake/mixed/one.parquet"].read(), frame)
    # Pinned: a new part later is not in the exported entry.
    cat.put_bytes(parquet_bytes(frame), "eos://org/lake/parts/part-2.parquet")
    assert len(intake.open_catalog(str(path))["lake/parts"].read()) == len(frame)


def test_an_export_of_a_folder_version(cat: Catalog, tmp_path: Path) -> None:
    url, options = "eos://org/data/x.zarr", zarr_options(2)
    first = dataset(1)
    with cat.transaction("the first run"):
        first.to_zarr(url, mode="w", **options)
        cat.put_bytes(b"a,b\n1,2\n", "eos://org/data/t.csv")
    cat.put_bytes(b"other\n", "eos://org/elsewhere/e.txt")  # another folder: no data version
    with cat.transaction("more"):
        dataset(2, start=6).to_zarr(url, append_dim="time", **options)
        cat.put_bytes(b"a,b\n3,4\n", "eos://org/data/t.csv")
        cat.put_bytes(b"new\n", "eos://org/data/new.txt")
    assert [v.version for v in cat.folders.versions("eos://org/data/")] == [1, 2]
    path = tmp_path / "v1.yaml"
    cat.to_intake("eos://org/data@1/", path)
    doc = yaml.safe_load(path.read_text())
    assert sorted(entries(path)) == ["data/t.csv", "data/t.csv@1", "data/x.zarr"]
    assert doc["metadata"]["eoscatalog"]["folder_version"] == "eos://org/data@1/"
    assert doc["sources"]["data/t.csv"]["metadata"]["version"] == 1
    zarr_meta = doc["sources"]["data/x.zarr"]["metadata"]
    assert zarr_meta["eos_uri"] == "eos://org/data/x.zarr@1/" and zarr_meta["version"] == 1
    read = intake.open_catalog(str(path))
    xr.testing.assert_identical(read["data/x.zarr"].read().load(), first)
    assert read["data/t.csv"].read().to_dict("list") == {"a": [1], "b": [2]}
    # The latest state: each dataset folder by its own version number.
    latest = yaml.safe_load(cat.to_intake("eos://org/data/", latest_only=True))
    assert sorted(latest["entries"]) == ["data/new.txt", "data/t.csv", "data/x.zarr"]
    assert latest["entries"]["data/x.zarr"]["metadata"]["version"] == 2
    # A folder tag: the tag export pins the tagged folder version.
    cat.folders.tag("eos://org/data/x.zarr@1/", "paper")
    tagged = yaml.safe_load(cat.to_intake("eos://org/data/", tag="paper"))
    assert list(tagged["entries"]) == ["data/x.zarr"]
    assert tagged["entries"]["data/x.zarr"]["metadata"]["tags"] == ["paper"]
    assert tagged["sources"]["data/x.zarr"]["args"]["urlpath"] == "eos://org/data/x.zarr@1"


def test_find_datasets_rules() -> None:
    def found(names: list[str], prefix: str = "") -> list[tuple[str, str]]:
        return [(d.folder, d.kind) for d in find_datasets(names, prefix)]

    # The outermost Zarr store: nested groups and arrays belong to it.
    assert found(["x.zarr/zarr.json", "x.zarr/g/zarr.json", "x.zarr/g/a/zarr.json",
                  "x.zarr/g/a/c/0"]) == [("x.zarr/", "zarr")]
    assert found(["a/.zarray", "a/0.0", "b/.zgroup"]) == [("a/", "zarr"), ("b/", "zarr")]
    assert found([".zgroup", "t/0"]) == []  # never the namespace root
    # Parquet: two files, or a partition folder; hidden and underscore files ignored.
    assert found(["p/a.parquet", "p/b.PQ", "p/_SUCCESS", "p/.a.parquet.crc"]) == \
        [("p/", "parquet")]
    assert found(["p/one.parquet"]) == []
    assert found(["p/y=1/one.parq", "p/_metadata"]) == [("p/", "parquet")]
    assert found(["p/a.parquet", "p/b.parquet", "p/c.csv"]) == []
    # A plain subfolder is no partition: the subfolders are the datasets.
    assert found(["d/x/1.parquet", "d/x/2.parquet", "d/y/k=1/1.parquet"]) == \
        [("d/x/", "parquet"), ("d/y/", "parquet")]
    # A Parquet folder inside a Zarr store is part of the store; a store spoils its parent.
    assert found(["s.zarr/.zgroup", "s.zarr/t/a.parquet", "s.zarr/t/b.parquet",
                  "other.parquet", "other2.parquet"]) == [("s.zarr/", "zarr")]
    # Only folders inside the prefix: their names are all in the listing.
    assert found(["d/x/1.parquet", "d/x/2.parquet"], "d/x/1") == []
    assert found(["d/x/1.parquet", "d/x/2.parquet"], "d/") == [("d/x/", "parquet")]
    names = find_datasets(["r.zarr/.zgroup", "r.zarr/.zmetadata", "r.zarr0", "r.zarr/t/0"])
    assert names[0].names == ("r.zarr/.zgroup", "r.zarr/.zmetadata", "r.zarr/t/0")
    assert names[0].consolidated and names[0].name == "r.zarr"

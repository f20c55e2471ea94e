"""xarray and zarr 3 by ``eos://`` URL: zarr opens every fsspec filesystem with
``asynchronous=True`` and wraps a synchronous one (``AsyncFileSystemWrapper``), so eos:// must
take fsspec's own options; every chunk written becomes a version, read back exactly."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import xarray as xr

if sys.version_info < (3, 11):  # zarr 3 needs 3.11; the test extra installs it only there
    pytest.skip("zarr 3 needs Python 3.11 or later", allow_module_level=True)

import zarr

from eoscatalog import Catalog


def dataset(seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {"t": (("time", "x"), rng.standard_normal((6, 8))),
         "n": (("x",), rng.integers(0, 1000, 8, dtype="int32"))},
        coords={"time": np.arange(6), "x": np.linspace(0.0, 1.0, 8)},
        attrs={"title": "sensor run"},
    )


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_xarray_writes_and_reads_zarr_by_url(cat: Catalog, zarr_format: int) -> None:
    url = f"eos://org/runs/r{zarr_format}.zarr"
    # zarr warns that consolidated metadata is not part of format 3: use it with format 2 only
    options = {"zarr_format": zarr_format, "consolidated": zarr_format == 2}
    first = dataset(1)
    first.chunk({"time": 3}).to_zarr(url, mode="w", **options)
    back = xr.open_zarr(url, **options)
    xr.testing.assert_identical(back.load(), first)
    assert back.t.encoding["chunks"] == (3, 8)
    before = names(cat)
    assert any(n.startswith(f"runs/r{zarr_format}.zarr/t/") for n in before), before
    # Written again over the top, in one chunk: the old names are deleted (delete markers,
    # their versions kept) and the new dataset reads back alone.
    second = dataset(2)
    second.to_zarr(url, mode="w", **options)
    xr.testing.assert_identical(xr.open_zarr(url, **options).load(), second)
    gone = before - names(cat)
    assert gone, "the first dataset's second chunk of t should be gone"
    for name in gone:
        assert cat.versions(f"eos://org/{name}")[-1].is_delete_marker
        assert cat.read_bytes(f"eos://org/{name}@1")


def names(cat: Catalog) -> set[str]:
    return {r.name for r in cat.ls("eos://org/runs/", recursive=True).files}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_open_group_by_url(cat: Catalog, zarr_format: int) -> None:
    url = f"eos://users/ada/g{zarr_format}.zarr"
    group = zarr.open_group(url, mode="w", zarr_format=zarr_format)
    data = np.arange(100, dtype="float64").reshape(10, 10)
    array = group.create_array("a", shape=(10, 10), chunks=(5, 5), dtype="float64")
    array[:] = data
    group.attrs["owner"] = "ada"
    again = zarr.open_group(url, mode="r", zarr_format=zarr_format)
    assert np.array_equal(again["a"][:], data)
    assert again.attrs["owner"] == "ada"
    assert list(again.array_keys()) == ["a"]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_append_dim_in_a_transaction_is_one_changeset(cat: Catalog, zarr_format: int) -> None:
    """Appending along a dimension (consolidated metadata with format 2) publishes the new
    chunks and the rewritten metadata together."""
    url = f"eos://org/runs/append{zarr_format}.zarr"
    options = {"zarr_format": zarr_format, "consolidated": zarr_format == 2}
    first = dataset(1)
    first.chunk({"time": 3}).to_zarr(url, mode="w", **options)
    log = "catalog/org/log/"
    before = sum(1 for _ in cat.store.list(log))
    more = dataset(2).assign_coords(time=np.arange(6, 12))
    with cat.transaction("append six steps") as txn:
        more[["t"]].chunk({"time": 3}).to_zarr(url, append_dim="time", **options)
    assert sum(1 for _ in cat.store.list(log)) == before + 1
    assert len({r.seq for r in txn.records}) == 1
    back = xr.open_zarr(url, **options).compute()
    assert back.t.shape == (12, 8)
    np.testing.assert_array_equal(back.t.values, np.concatenate([first.t.values,
                                                                 more.t.values]))
    assert list(back.time.values) == list(range(12))

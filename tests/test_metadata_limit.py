"""Metadata is capped at 64 KiB of JSON per version, refused before any byte is stored.

A 50 MB value once made a 52 MB changeset that every client of the namespace downloads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eoscatalog import Catalog
from eoscatalog.core.errors import InvalidMetadataError
from eoscatalog.interchange.yaml_catalog import dump_document
from eoscatalog.rules.planning import MAX_META_BYTES
from eoscatalog.store import Store

LIMIT = 64 * 1024


def _meta_of_json_size(size: int) -> dict[str, str]:
    """Metadata whose compact JSON is exactly ``size`` bytes: {"k":"xxx..."} is 8 + n."""
    return {"k": "x" * (size - 8)}


def _everything(store: Store) -> dict[str, str]:
    return {o.key: o.etag for o in store.list("")}


def test_the_limit_is_64_kib() -> None:
    assert MAX_META_BYTES == LIMIT


@pytest.mark.parametrize("face", ["put", "put_bytes", "put_many"])
def test_metadata_over_64_kib_is_refused_before_any_byte_is_stored(
    face: str, store: Store, tmp_path: Path
) -> None:
    cat = Catalog(store, ":memory:", user="ada")
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n")
    too_big = _meta_of_json_size(LIMIT + 1)
    calls = {
        "put": lambda meta: cat.put(path, "m.csv", meta=meta),
        "put_bytes": lambda meta: cat.put_bytes(b"a,b\n", "m.csv", meta=meta),
        "put_many": lambda meta: cat.put_many([(path, "m.csv"), (b"2", "n.csv")], meta=meta),
    }
    before = _everything(store)
    with pytest.raises(InvalidMetadataError) as info:
        calls[face](too_big)
    message = str(info.value)
    assert f"{LIMIT + 1:,} bytes" in message and f"{LIMIT:,} bytes" in message, message
    assert _everything(store) == before, "a refused put stored something"
    # exactly the limit is accepted, and reads back equal
    record = calls[face](_meta_of_json_size(LIMIT))[0].record if face == "put_many" \
        else calls[face](_meta_of_json_size(LIMIT)).record
    assert record.meta == _meta_of_json_size(LIMIT)


def test_multibyte_metadata_counts_its_utf8_bytes(store: Store) -> None:
    cat = Catalog(store, ":memory:", user="ada")
    with pytest.raises(InvalidMetadataError, match="over the limit"):
        cat.put_bytes(b"x", "u.txt", meta={"k": "é" * (LIMIT // 2)})  # 64 KiB of characters


def test_an_import_with_metadata_over_64_kib_is_refused(store: Store, tmp_path: Path) -> None:
    source = Catalog(store, ":memory:", user="ada")
    record = source.put_bytes(b"bytes", "eos://org/big.csv").record
    text = dump_document("org", "", [record]).replace(
        "    - version: 1\n", f"    - version: 1\n      meta:\n        k: {'x' * (LIMIT + 1)}\n"
    )
    path = tmp_path / "big.yaml"
    path.write_text(text.replace("big.csv", "other.csv"))
    before = _everything(store)
    with pytest.raises(InvalidMetadataError) as info:
        source.import_yaml(path)
    assert str(path) in str(info.value) and f"{LIMIT:,} bytes" in str(info.value)
    assert _everything(store) == before

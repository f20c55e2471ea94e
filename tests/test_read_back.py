"""A write reads its versions back in a few queries (``Index.records_of``), and what it reads
is exactly what one ``Index.version`` / ``Index.latest`` per name gives: tags, delete markers,
purged versions (which a read by number still sees, and a latest read skips) and names the
index does not know (left out, so ``Committer.read_back`` refuses, naming the name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoscatalog import Catalog
from eoscatalog.catalog.commit import Committer
from eoscatalog.core.errors import ConflictError
from eoscatalog.log.changesets import Changeset, Entry
from eoscatalog.rules.planning import PutItem
from eoscatalog.store import MemoryStore

NS = "users/ada"


@pytest.fixture
def cat(tmp_path: Path) -> Catalog:
    cat = Catalog(MemoryStore(), tmp_path / "index.sqlite", user="ada")
    for i in range(3):
        cat.put(f"v{i}".encode(), "many")  # versions 1..3
    cat.tag("many@2", "paper")
    cat.tag("many@2", "prod")
    cat.put(b"gone", "deleted")
    cat.rm("deleted")  # latest: a delete marker
    cat.put(b"a", "purged")
    cat.put(b"b", "purged")
    cat.purge("purged@2")  # latest readable: 1; version 2 still read by number
    cat.put_many([(f"f{i}".encode(), f"bulk/f{i:04d}") for i in range(1200)])  # > one chunk
    return cat


NAMES = ["many", "deleted", "purged", "bulk/f0000", "bulk/f0999", "bulk/f1199", "unknown"]


@pytest.mark.parametrize("version", [None, 1, 2, 3, 4])
def test_records_of_reads_what_one_read_per_name_reads(cat: Catalog,
                                                      version: int | None) -> None:
    wanted = dict.fromkeys(NAMES, version)
    expected = {
        name: record for name in NAMES
        if (record := (cat.index.latest(NS, name) if version is None
                       else cat.index.version(NS, name, version))) is not None
    }
    assert cat.index.records_of(NS, wanted) == expected
    if version is None:
        assert expected["many"].tags == () and expected["purged"].version == 1
        assert expected["deleted"].is_delete_marker and "unknown" not in expected
    if version == 2:
        assert expected["many"].tags == ("paper", "prod") and expected["purged"].purged


def test_records_of_mixes_numbers_and_latest_per_name(cat: Catalog) -> None:
    wanted: dict[str, int | None] = {"many": 2, "purged": None, "bulk/f0500": 1, "deleted": 9}
    found = cat.index.records_of(NS, wanted)
    assert found == {"many": cat.index.version(NS, "many", 2),
                     "purged": cat.index.latest(NS, "purged"),
                     "bulk/f0500": cat.index.version(NS, "bulk/f0500", 1)}


def _committer(cat: Catalog) -> Committer:
    return cat._committer


def test_read_back_gives_each_item_its_version_and_whether_the_changeset_made_it(
        cat: Catalog) -> None:
    items = [PutItem(name, "blake3:" + "0" * 64, 1) for name in
             ("many", "bulk/f0001", "purged", "deleted")]
    changeset = Changeset(namespace=NS, seq=99, created="2026-01-01T00:00:00Z", author="ada",
                          entries=(Entry(op="put", name="many", version=2),
                                   Entry(op="tag", name="bulk/f0001", version=1, tag="t")))
    out = _committer(cat).read_back(NS, changeset, items)
    assert out == [(cat.index.version(NS, "many", 2), True),  # by number, not the latest (3)
                   (cat.index.latest(NS, "bulk/f0001"), False),  # a tag makes no version
                   (cat.index.latest(NS, "purged"), False),
                   (cat.index.latest(NS, "deleted"), False)]
    assert _committer(cat).read_back(NS, None, items[:1]) == [
        (cat.index.latest(NS, "many"), False)]


def test_read_back_refuses_a_name_the_index_no_longer_shows(cat: Catalog) -> None:
    items = [PutItem("many", "blake3:" + "0" * 64, 1), PutItem("unknown", "blake3:" + "1" * 64, 1)]
    with pytest.raises(ConflictError, match="eos://users/ada/unknown was written"):
        _committer(cat).read_back(NS, None, items)

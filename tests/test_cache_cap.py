"""The download cache's cap: by default (``auto``) 10 GiB, or a quarter of the room the cache
could take on its disk (free space plus what it holds), whichever is smaller; set by
``EOS_CACHE_MAX_SIZE`` or ``cache_max_size`` in config.yaml (``none`` lifts it); enforced after
each download into the cache, least recently used first, never evicting an entry in use.

The free space of a disk is what ``os.statvfs`` says; these tests make it say a known number.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from eoscatalog.core.errors import ConfigError
from eoscatalog.local import cache_prune
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.cache_prune import DEFAULT_MAX_SIZE, default_cap, open_entry
from eoscatalog.local.config import Config
from eoscatalog.store import MemoryStore

GiB = 1024**3


class FakeStatvfs:
    """What ``os.statvfs`` answers for a disk with ``free`` bytes available."""

    def __init__(self, free: int) -> None:
        self.f_frsize = 1
        self.f_bavail = free


@pytest.fixture
def free_space(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make the cache's disk report ``free`` available bytes."""
    def set_free(free: int) -> None:
        monkeypatch.setattr(cache_prune.os, "statvfs", lambda _path: FakeStatvfs(free))
    return set_free


def test_the_default_cap_is_10_gib_or_a_quarter_of_the_room_on_the_disk(
        tmp_path: Path, free_space: Callable[[int], None]) -> None:
    free_space(400 * GiB)  # a big disk: 10 GiB
    assert default_cap(tmp_path, 0) == DEFAULT_MAX_SIZE == 10 * GiB
    free_space(8 * GiB)  # a notebook's home disk with 8 GiB free: 2 GiB
    assert default_cap(tmp_path, 0) == 2 * GiB
    # What the cache holds counts as room it could take: the cap does not shrink as it fills.
    free_space(6 * GiB)
    assert default_cap(tmp_path, 2 * GiB) == 2 * GiB
    assert default_cap(tmp_path / "not" / "made", 0) == int(1.5 * GiB)  # its disk: the parent's


def test_the_real_disk_gives_a_cap_within_bounds(tmp_path: Path) -> None:
    st = os.statvfs(tmp_path)
    assert 0 < default_cap(tmp_path, 0) <= min(10 * GiB, st.f_blocks * st.f_frsize // 4)


def test_settings_give_the_default_a_size_or_no_cap(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert Config.load(env={"EOS_HOME": str(home), "EOS_USER": "ada"}).cache_max_bytes == "auto"
    for text, cap in (("auto", "auto"), ("AUTO", "auto"), ("none", None), ("500MB", 500_000_000),
                      ("0", 0)):
        env = {"EOS_HOME": str(home), "EOS_USER": "ada", "EOS_CACHE_MAX_SIZE": text}
        assert Config.load(env=env).cache_max_bytes == cap, text
    home.mkdir()
    (home / "config.yaml").write_text(yaml.safe_dump({"user": "ada", "cache_max_size": "2GiB"}))
    assert Config.load(env={"EOS_HOME": str(home)}).cache_max_bytes == 2 * GiB
    with pytest.raises(ConfigError, match=r"cache_max_size.*'auto', 'none'"):
        Config.load(env={"EOS_HOME": str(home), "EOS_CACHE_MAX_SIZE": "lots"})


def test_an_auto_capped_cache_evicts_the_least_recently_used_after_a_download(
        tmp_path: Path, free_space: Callable[[int], None]) -> None:
    store = MemoryStore()
    hashes = [store.put_blob_bytes(bytes([i]) * 100) for i in range(5)]
    cache = BlobCache(tmp_path / "cache", max_size="auto")
    free_space(1000)  # the disk stays this full: the cap is (1000 + held) // 4
    for h in hashes[:3]:
        cache.fetch(h, store)
    info = cache.info()
    assert (info.entries, info.size, info.max_size, info.auto) == (3, 300, 325, True)
    cache.lookup(hashes[0])  # used again: now the most recently used
    cache.fetch(hashes[3], store)  # 400 > (1000 + 400) // 4: one goes, the least recently used
    assert [cache.lookup(h) is not None for h in hashes[:4]] == [True, False, True, True]
    assert cache.info().size == 300


def test_prune_never_evicts_an_entry_in_use(tmp_path: Path) -> None:
    store = MemoryStore()
    a, b = store.put_blob_bytes(b"a" * 100), store.put_blob_bytes(b"b" * 100)
    cache = BlobCache(tmp_path / "cache")
    entry_a, entry_b = cache.fetch(a, store), cache.fetch(b, store)
    with open_entry(entry_a) as reading:  # as materialize and eos:// (fsspec) read entries
        result = cache.prune(0)
        assert result.removed == (b,) and (result.freed, result.size) == (100, 100)
        assert entry_a.exists() and not entry_b.exists()
        assert reading.read() == b"a" * 100
    assert cache.prune(0).removed == (a,)  # once closed, it can go


def test_a_file_opened_from_the_cache_is_in_use(tmp_path: Path) -> None:
    store = MemoryStore()
    h = store.put_blob_bytes(b"kept while open")
    cache = BlobCache(tmp_path / "cache")
    cache.fetch(h, store)
    f = cache.open_checked(h)
    assert f is not None
    with f:
        assert cache.prune(0).removed == ()
        assert f.read() == b"kept while open"
    assert cache.prune(0).removed == (h,)
    assert cache.open_checked(h) is None


def test_eos_cat_streams_an_entry_no_prune_removes_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from eoscatalog import Catalog
    from eoscatalog.cli.main import cli

    monkeypatch.setenv("EOS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EOS_USER", "ada")
    data = b"streamed " * 300_000  # more than one 1 MiB read
    (tmp_path / "a.bin").write_bytes(data)
    assert CliRunner().invoke(cli, ["put", str(tmp_path / "a.bin"), "a.bin"]).exit_code == 0
    pruned: list[tuple[str, ...]] = []
    real_open = Catalog.open_cached

    def open_then_prune(self: Catalog, record: object) -> object:
        f = real_open(self, record)  # type: ignore[arg-type]
        if f is not None:  # another process prunes the whole cache while eos cat streams
            pruned.append(BlobCache(tmp_path / "home" / "cache").prune(0).removed)
        return f

    monkeypatch.setattr(Catalog, "open_cached", open_then_prune)
    for _ in range(2):  # fetched into the cache first, then read from it
        result = CliRunner().invoke(cli, ["cat", "a.bin"])
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes == data
    assert pruned == [(), ()]  # the entry in use stayed both times
    assert BlobCache(tmp_path / "home" / "cache").prune(0).removed != ()  # once closed: it goes

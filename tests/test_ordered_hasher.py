"""OrderedHasher: a file written in pieces, in any order, hashed in order as they complete,
and refused whole when the pieces do not tile it exactly."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eoscatalog.core import ordered_hasher
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.core.ordered_hasher import OrderedHasher

MiB = 1024 * 1024


@pytest.fixture
def fd(tmp_path: Path) -> Iterator[int]:
    descriptor = os.open(tmp_path / "file", os.O_RDWR | os.O_CREAT)
    yield descriptor
    os.close(descriptor)


def pieces(size: int, seed: int, largest: int) -> list[tuple[int, int]]:
    """``[0, size)`` cut at random points into pieces of at most ``largest`` bytes."""
    rng, out, start = random.Random(seed), [], 0
    while start < size:
        stop = min(size, start + rng.randint(1, largest))
        out.append((start, stop))
        start = stop
    return out


@pytest.mark.parametrize("size, largest", [(1, 1), (1000, 7), (3 * MiB + 5, 300_000),
                                           (13 * MiB + 1, 2 * MiB)])
@pytest.mark.parametrize("mapped", ["1", "0"])
def test_pieces_in_any_order_hash_as_the_whole_file(fd: int, size: int, largest: int,
                                                   mapped: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOS_HASH_MMAP", mapped)
    data = random.Random(size).randbytes(size)
    os.ftruncate(fd, size)
    hasher = OrderedHasher(fd, size)
    order = pieces(size, seed=size, largest=largest)
    random.Random(1).shuffle(order)
    for start, stop in order:
        os.pwrite(fd, data[start:stop], start)
        hasher.wrote(start, stop - start)
    assert hasher.result() == hash_bytes(data)


def test_the_hash_follows_the_written_prefix_before_the_end(fd: int) -> None:
    """Bytes are hashed as soon as every byte before them is written, not at the end."""
    size = 12 * MiB
    data = random.Random(2).randbytes(size)
    os.ftruncate(fd, size)
    hasher = OrderedHasher(fd, size)
    os.pwrite(fd, data[8 * MiB:], 8 * MiB)
    hasher.wrote(8 * MiB, 4 * MiB)  # ahead of the prefix: waits
    os.pwrite(fd, data[:8 * MiB], 0)
    hasher.wrote(0, 8 * MiB)
    deadline = time.monotonic() + 30
    while hasher._hashed < size and time.monotonic() < deadline:  # no result() asked yet
        time.sleep(0.01)
    assert hasher._hashed == size
    assert hasher.result() == hash_bytes(data)


def test_a_missing_piece_is_refused(fd: int) -> None:
    os.ftruncate(fd, 100)
    hasher = OrderedHasher(fd, 100)
    os.pwrite(fd, b"a" * 100, 0)
    hasher.wrote(0, 40)
    hasher.wrote(50, 50)
    with pytest.raises(RuntimeError, match="90 bytes were reported of a 100-byte file, 40 hashed"):
        hasher.result()


@pytest.mark.parametrize("again", [(0, 10), (20, 10), (5, 10), (95, 10)])
def test_a_piece_reported_twice_or_out_of_bounds_is_refused(fd: int,
                                                           again: tuple[int, int]) -> None:
    """A byte written again after it may have been hashed: the hash cannot be trusted."""
    os.ftruncate(fd, 100)
    os.pwrite(fd, b"a" * 100, 0)
    hasher = OrderedHasher(fd, 100)
    hasher.wrote(0, 30)
    hasher.wrote(*again)
    hasher.wrote(30, 70)
    with pytest.raises(RuntimeError, match="internal error"):
        hasher.result()


def test_a_read_error_is_raised_by_result(fd: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(ordered_hasher.mmap, "mmap", broken)
    os.ftruncate(fd, 10)
    hasher = OrderedHasher(fd, 10)
    hasher.wrote(0, 10)
    with pytest.raises(OSError, match="I/O error"):
        hasher.result()


def test_close_stops_the_thread_without_a_result(fd: int) -> None:
    os.ftruncate(fd, 10 * MiB)
    hasher = OrderedHasher(fd, 10 * MiB)
    hasher.wrote(0, MiB)
    hasher.close()
    hasher.close()  # again is harmless
    assert not hasher._thread.is_alive()

"""Downloads from an S3 store root (:class:`S3Downloader`, owned by
:class:`~eoscatalog.store.s3.store.S3Store`): streams that resume with a ranged GET after a cut,
and blobs fetched as parallel ranged GETs, hashed in order while they arrive.

A download's stream cut mid-body goes on from the first byte not received, with ``If-Match`` on
the first answer's ETag, at most ``max_attempts`` streams in all. Bodies are read 1 MiB at a
time and each read is passed on as it is (a cut loses at most the read in flight): no byte is
copied in Python on its way to the file.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, IncompleteReadError

from eoscatalog.core.errors import NotFoundError, StoreError
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import OnBytes, staged
from eoscatalog.core.hashing import hash_bytes, parse_hash, verify_hash
from eoscatalog.core.ordered_hasher import OrderedHasher
from eoscatalog.store.keys import blob_key
from eoscatalog.store.object_info import ObjectInfo
from eoscatalog.store.s3.client import PRECONDITION, S3Client
from eoscatalog.store.s3.limits import MAX_CONCURRENCY, PART_SIZE
from eoscatalog.store.s3.retries import STREAM_CUT
from eoscatalog.store.s3.writeback import Writeback

__all__ = ["S3Downloader", "part_ranges"]

logger = logging.getLogger(__name__)

READ_CHUNK = 1024 * 1024  # bytes per read of a body
# The largest ranged GET of a blob (see part_ranges): few requests (each costs a millisecond of
# CPU), parts small enough to keep every thread busy to the end.
MAX_PART = 32 * 1024 * 1024


class S3Downloader:
    """Reads the objects of one store root: ``bucket``, keys made by ``key_of`` (the root's
    prefix added to a checked store key), requests through ``s3`` (its client, retry policy and
    error translation). ``head`` tells a range past the end from a missing object. Blobs come
    as ranged GETs of ``part_size`` bytes, at most ``max_concurrency`` at a time.
    """

    def __init__(self, s3: S3Client, bucket: str, url: str, key_of: Callable[[str], str],
                 head: Callable[[str], ObjectInfo], *, part_size: int = PART_SIZE,
                 max_concurrency: int = MAX_CONCURRENCY) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.url = url
        self.key_of = key_of
        self.head = head
        self.part_size = part_size
        self.max_concurrency = max_concurrency

    def iter_chunks(self, key: str, start: int = 0, end: int | None = None, *,
                    if_match: str | None = None, cuts: int = 0) -> Iterator[bytes]:
        """Stream ``[start, end)``; a stream cut mid-body goes on with a ranged GET from the
        next byte, at most ``max_attempts`` streams in all (StoreError after that).

        Every ranged GET after the first carries ``If-Match`` with the first answer's ETag (or
        with ``if_match`` from the start), so the pieces come from one version of the object.
        ``cuts`` counts streams of this range already cut (they use up the attempts).
        """
        if end is not None and end <= start:
            return
        retry, max_attempts = self.s3.retry, self.s3.max_attempts
        offset, stop, etag = start, end, if_match
        sized = False
        if cuts:
            time.sleep(retry.delay(cuts))
        cut: BaseException | None = None
        for attempt in range(cuts + 1, max_attempts + 1):
            opened = self._open_range(key, offset, stop, etag)
            if opened is None:
                return  # the range starts at or past the end: no bytes
            response, body = opened
            cut = None
            if not sized:
                sized = True
                etag = etag or response["ETag"]
                # What this answer holds: a range asked past the end is served up to the end.
                stop = offset + response["ContentLength"]
            if stop is None:  # the first answer set it; this tells the type checker so
                raise RuntimeError(f"internal error: no size for {key!r}; please report it")
            try:
                while True:
                    try:
                        data = body.read(READ_CHUNK)
                    except STREAM_CUT as e:
                        cut = e
                        break
                    if not data:
                        break
                    offset += len(data)
                    yield data
            finally:
                body.close()
            if offset >= stop:
                return
            if cut is None:
                cut = IncompleteReadError(actual_bytes=offset - start, expected_bytes=stop - start)
            if attempt < max_attempts:
                logger.debug("GET %s cut at byte %d (%s); resuming", key, offset, cut)
                time.sleep(retry.delay(attempt))
        raise StoreError(
            f"the download of {key!r} from {self.s3.where(self.url)} was cut {max_attempts} "
            f"times (last at byte {offset} of {stop}: {cut}); nothing was kept. Check your "
            "network, then retry"
        )

    def _open_range(self, key: str, offset: int, stop: int | None,
                    etag: str | None) -> tuple[dict[str, Any], Any] | None:
        """GetObject from ``offset`` (to ``stop``); None when nothing is there to read."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key_of(key)}
        if offset or stop is not None:
            args["Range"] = f"bytes={offset}-{'' if stop is None else stop - 1}"
        if etag is not None:
            args["IfMatch"] = etag
        with self.s3.errors(self.url, key):
            try:
                response = self.s3.client.get_object(**args)
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                if code == "InvalidRange":
                    self.head(key)  # NotFoundError if the object is gone
                    return None
                if etag is not None and code in PRECONDITION:
                    raise StoreError(
                        f"{key!r} in {self.url} was replaced while it was being read; retry"
                    ) from None
                raise
        if offset and not response.get("ContentRange", "").startswith(f"bytes {offset}-"):
            response["Body"].close()
            raise StoreError(f"{self.s3.where(self.url)} ignored the Range of a GET of {key!r}: "
                             "it cannot resume downloads")
        return response, response["Body"]

    def download_blob(self, hash_string: str, dest: str | os.PathLike[str], *,
                      on_bytes: OnBytes | None = None, durable: bool = False) -> Path:
        """Download a blob to ``dest`` as parallel ranged GETs, all pinned to the first answer's
        ETag, each written at its offset straight from the socket, hashed in order as they land
        (:class:`~eoscatalog.core.ordered_hasher.OrderedHasher` reads each run of bytes back
        from the temp file as soon as every byte before it is written), and renamed into place
        only if the hash of all its bytes matches. A blob of one part costs one GET. ``durable``:
        the caller fsyncs the file next (a cache entry), so its bytes are written out as they
        arrive."""
        hash_string = parse_hash(hash_string)
        key = blob_key(hash_string)
        dest = Path(dest)
        try:
            with staged(dest, durable=False) as temp:
                actual = self._download_parts(temp.fd, temp.path, key, on_bytes, durable)
                temp.close()
                crash_point("get.temp-written")
                verify_hash(hash_string, actual, f"blob {hash_string} in {self.url}")
                temp.replace()
        except NotFoundError:
            raise NotFoundError(
                f"blob {hash_string} is missing from {self.url}: the catalog names it but "
                "the store lost it; run `eos verify` and upload it again"
            ) from None
        return dest

    def _download_parts(self, fd: int, path: str, key: str, on_bytes: OnBytes | None,
                        durable: bool) -> str:
        """Fetch the blob into ``fd`` (the temp file at ``path``); return the hash of what the
        file holds."""
        opened = self._open_range(key, 0, self.part_size, None)
        if opened is None:
            return hash_bytes(b"")  # an empty blob
        response, body = opened
        etag = response["ETag"]
        end = response["ContentLength"]
        content_range = response.get("ContentRange", "")
        size = int(content_range.rsplit("/", 1)[-1]) if "/" in content_range else end
        os.ftruncate(fd, size)
        reader = _reopen(fd, path)
        hasher = OrderedHasher(reader, size)
        writeback = Writeback(fd) if durable else None
        try:
            sink = _Sink(fd, hasher, writeback, on_bytes)
            self._fetch_parts(sink, key, body, etag, end, size)
            return hasher.result()
        finally:
            try:
                hasher.close()
                if writeback is not None:
                    writeback.close()
            finally:
                os.close(reader)

    def _fetch_parts(self, sink: _Sink, key: str, body: Any, etag: str, end: int,
                     size: int) -> None:
        """Write the open first part and fetch the other parts, all in parallel."""

        def first() -> None:
            written, cuts = 0, 0
            try:
                while data := body.read(READ_CHUNK):
                    written += sink.write(data, written)
            except STREAM_CUT:
                cuts = 1  # the rest of the first part is fetched again, with one attempt used
            finally:
                body.close()
            if written < end:
                fetch(written, end, cuts)

        def fetch(start: int, stop: int, cuts: int = 0) -> None:
            offset = start
            for chunk in self.iter_chunks(key, start, stop, if_match=etag, cuts=cuts):
                offset += sink.write(chunk, offset)
            if offset != stop:
                raise StoreError(f"{key!r} in {self.url} ended at byte {offset}, not {stop}; "
                                 "retry")

        ranges = part_ranges(end, size, self.part_size, self.max_concurrency)
        if not ranges:
            first()
            return
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            futures = [pool.submit(first), *(pool.submit(fetch, *r) for r in ranges)]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise


def part_ranges(first: int, size: int, part_size: int, concurrency: int) -> list[tuple[int, int]]:
    """The ranged GETs of a blob's bytes after its first part ``[0, first)``, in order.

    The first parts grow (``part_size`` times 2, 3, ... up to ``concurrency``), so the parts
    in flight finish one after another, in order, rather than all at once: the bytes before
    the lowest unfinished one, which is all the hash can take, keep growing while the others
    arrive, and little is left to hash when the last lands. The rest are ``concurrency`` times
    ``part_size`` (at most 32 MiB, never less than ``part_size``).

    >>> MiB = 1024 * 1024
    >>> [(a // MiB, b // MiB) for a, b in part_ranges(8 * MiB, 100 * MiB, 8 * MiB, 4)]
    [(8, 24), (24, 48), (48, 80), (80, 100)]
    """
    steady = max(part_size, min(MAX_PART, concurrency * part_size))
    ranges, start, grow = [], first, 2
    while start < size:
        step = min(steady, grow * part_size)
        grow += 1
        stop = min(start + step, size)
        ranges.append((start, stop))
        start = stop
    return ranges


class _Sink:
    """Where a download's bytes go: written at their offsets of ``fd``, reported to the
    hasher, counted for the writeback and the caller's progress."""

    def __init__(self, fd: int, hasher: OrderedHasher, writeback: Writeback | None,
                 on_bytes: OnBytes | None) -> None:
        self.fd, self.hasher, self.writeback, self.on_bytes = fd, hasher, writeback, on_bytes

    def write(self, data: bytes, offset: int) -> int:
        """Write all of ``data`` at ``offset``; return its length."""
        _write_at(self.fd, data, offset, self.writeback, self.on_bytes)
        self.hasher.wrote(offset, len(data))
        return len(data)


def _reopen(fd: int, path: str) -> int:
    """A read-only descriptor of the file open at ``fd`` (a temp file at ``path``, written
    through ``fd``, which is write-only): refused if ``path`` is another file by now."""
    reader = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    ours, theirs = os.fstat(fd), os.fstat(reader)
    if (ours.st_dev, ours.st_ino) != (theirs.st_dev, theirs.st_ino):
        os.close(reader)
        raise StoreError(f"the temporary file {path} was replaced by another program while "
                         "a download wrote it; nothing was kept. Retry")
    return reader


def _write_at(fd: int, data: bytes, offset: int, writeback: Writeback | None,
              on_bytes: OnBytes | None) -> int:
    """Write all of ``data`` at ``offset`` of ``fd``; count it; return its length."""
    view, at = memoryview(data), offset
    while view:
        done = os.pwrite(fd, view, at)
        view, at = view[done:], at + done
    if writeback is not None:
        writeback.wrote(len(data))
    if on_bytes is not None:
        on_bytes(len(data))
    return len(data)

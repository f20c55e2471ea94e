"""The byte-moving half of :class:`~eoscatalog.store.s3.store.S3Store` (a mixin),
in its own module so
each stays readable: downloads that resume with a ranged GET after a cut, and uploads of blobs,
in one request or as a parallel multipart upload.

A download's stream cut mid-body goes on from the first byte not received, with ``If-Match`` on
the first answer's ETag, at most ``max_attempts`` streams in all. A multipart upload reads the
file once, hashing each part as it is read, stops at the first failed part and is aborted; it
is completed (with ``If-None-Match: *``) only if the bytes hashed to the blob's key.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, IncompleteReadError

from eoscatalog.core.errors import (
    IntegrityError,
    NotFoundError,
    PreconditionFailedError,
    StoreError,
)
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import staged
from eoscatalog.core.hashing import FileState, StreamHasher, hash_file, parse_hash, verify_hash
from eoscatalog.store.base import ObjectInfo, Progress, blob_key
from eoscatalog.store.outboard import ChunkHasher, Outboard
from eoscatalog.store.s3.client import PRECONDITION
from eoscatalog.store.s3.retries import STREAM_CUT, STREAM_READ, RetryPolicy

__all__ = ["S3Transfers"]

logger = logging.getLogger(__name__)

MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
MAX_PARTS = 10_000
MAX_CONCURRENCY = 8
PART_CHECKSUM = "CRC32"
READ_CHUNK = 1024 * 1024
WRITEBACK_EVERY = 64 * 1024 * 1024


class _Writeback:
    """Write a download's bytes out to disk in the background (``fdatasync`` every ``every``
    bytes, one at a time), so the fsync that makes it durable at the end finds little left."""

    def __init__(self, fd: int, every: int | None = None) -> None:
        self.fd, self.every, self.pending = fd, every or WRITEBACK_EVERY, 0
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(1)
        self.running: Future[None] | None = None

    def wrote(self, count: int) -> None:
        with self.lock:
            self.pending += count
            if self.pending < self.every or (self.running and not self.running.done()):
                return
            self.pending = 0
            self.running = self.pool.submit(os.fdatasync, self.fd)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        if self.running is not None:
            self.running.result()  # an I/O error surfaces here


def _reporter(on_bytes: Progress, size: int) -> Callable[[Future[Any]], None]:
    """A done-callback that reports a part's bytes once it was sent."""

    def report(future: Future[Any]) -> None:
        if not future.cancelled() and future.exception() is None:
            on_bytes(size)

    return report


def _on_failure(failed: threading.Event) -> Callable[[Future[Any]], None]:
    """A done-callback that sets ``failed`` when a part was not sent."""

    def check(future: Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            failed.set()

    return check


class S3Transfers:
    """iter_chunks and blob uploads (used through S3Store)."""

    bucket: str
    url: str
    client: Any
    retry: RetryPolicy
    max_attempts: int
    max_concurrency: int
    part_size: int
    multipart_threshold: int

    if TYPE_CHECKING:  # provided by S3Store and Store

        def errors(self, key: str = "") -> AbstractContextManager[None]: ...
        def _where(self) -> str: ...
        def _key(self, key: str) -> str: ...
        def head(self, key: str) -> ObjectInfo: ...
        def exists(self, key: str) -> bool: ...
        def _put_if_absent_ok(self, key: str, data: bytes) -> None: ...
        def _upload_in_one(self, key: str, path: Path, expected: str,
                           on_bytes: Progress | None = None) -> Outboard | None: ...
        @staticmethod
        def _mismatch(path: Path, expected: str, actual: str) -> IntegrityError: ...
        @staticmethod
        def _changed(path: Path, expected: str) -> IntegrityError: ...

    # -- downloads -----------------------------------------------------------------------------

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
        offset, stop, etag = start, end, if_match
        sized = False
        if cuts:
            time.sleep(self.retry.delay(cuts))
        cut: BaseException | None = None
        for attempt in range(cuts + 1, self.max_attempts + 1):
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
            pending = bytearray()  # received bytes not yet yielded, kept across a cut
            try:
                while True:
                    try:
                        data = body.read(STREAM_READ)
                    except STREAM_CUT as e:
                        cut = e
                        break
                    if not data:
                        break
                    pending += data
                    offset += len(data)
                    if len(pending) >= READ_CHUNK:
                        yield bytes(pending)
                        pending.clear()
            finally:
                body.close()
            if pending:
                yield bytes(pending)
            if offset >= stop:
                return
            if cut is None:
                cut = IncompleteReadError(actual_bytes=offset - start, expected_bytes=stop - start)
            if attempt < self.max_attempts:
                logger.debug("GET %s cut at byte %d (%s); resuming", key, offset, cut)
                time.sleep(self.retry.delay(attempt))
        raise StoreError(
            f"the download of {key!r} from {self._where()} was cut {self.max_attempts} times "
            f"(last at byte {offset} of {stop}: {cut}); nothing was kept. Check your network, "
            "then retry"
        )

    def _open_range(self, key: str, offset: int, stop: int | None,
                    etag: str | None) -> tuple[dict[str, Any], Any] | None:
        """GetObject from ``offset`` (to ``stop``); None when nothing is there to read."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if offset or stop is not None:
            args["Range"] = f"bytes={offset}-{'' if stop is None else stop - 1}"
        if etag is not None:
            args["IfMatch"] = etag
        with self.errors(key):
            try:
                response = self.client.get_object(**args)
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
            raise StoreError(f"{self._where()} ignored the Range of a GET of {key!r}: it "
                             "cannot resume downloads")
        return response, response["Body"]

    def download_blob(self, hash_string: str, dest: str | os.PathLike[str], *,
                      on_bytes: Progress | None = None) -> Path:
        """Download a blob to ``dest`` as ranged GETs of ``part_size`` bytes, in parallel and
        all pinned to the first answer's ETag, each written at its offset; the file is then
        hashed as a whole (memory-mapped, on every core) and renamed into place only if it
        matches. A blob of one part costs one GET, as a plain download would."""
        hash_string = parse_hash(hash_string)
        key = blob_key(hash_string)
        dest = Path(dest)
        try:
            with staged(dest, durable=False) as temp:
                self._download_parts(temp.fd, key, on_bytes)
                temp.close()
                crash_point("get.temp-written")
                verify_hash(hash_string, hash_file(temp.path), f"blob {hash_string} in {self.url}")
                temp.replace()
        except NotFoundError:
            raise NotFoundError(
                f"blob {hash_string} is missing from {self.url}: the catalog names it but "
                "the store lost it; run `eos verify` and upload it again"
            ) from None
        return dest

    def _download_parts(self, fd: int, key: str, on_bytes: Progress | None) -> None:
        opened = self._open_range(key, 0, self.part_size, None)
        if opened is None:
            return  # an empty blob
        response, body = opened
        etag = response["ETag"]
        end = response["ContentLength"]
        content_range = response.get("ContentRange", "")
        size = int(content_range.rsplit("/", 1)[-1]) if "/" in content_range else end
        os.ftruncate(fd, size)
        writeback = _Writeback(fd)
        try:
            self._fetch_parts(fd, key, body, etag, end, size, writeback, on_bytes)
        finally:
            writeback.close()

    def _fetch_parts(self, fd: int, key: str, body: Any, etag: str, end: int, size: int,
                     writeback: _Writeback, on_bytes: Progress | None) -> None:
        """Write the open first part, then fetch the other parts in parallel."""
        written, cuts = 0, 0
        try:
            while data := body.read(STREAM_READ):
                os.pwrite(fd, data, written)
                written += len(data)
                writeback.wrote(len(data))
                if on_bytes is not None:
                    on_bytes(len(data))
        except STREAM_CUT:
            cuts = 1  # the rest of the first part is fetched below, with one attempt used
        finally:
            body.close()
        ranges = [(written, end, cuts)] if written < end else []
        ranges += [(s, min(s + self.part_size, size), 0)
                   for s in range(end, size, self.part_size)]

        def fetch(start: int, stop: int, cuts: int) -> None:
            offset = start
            for chunk in self.iter_chunks(key, start, stop, if_match=etag, cuts=cuts):
                os.pwrite(fd, chunk, offset)
                offset += len(chunk)
                writeback.wrote(len(chunk))
                if on_bytes is not None:
                    on_bytes(len(chunk))
            if offset != stop:
                raise StoreError(f"{key!r} in {self.url} ended at byte {offset}, not {stop}; "
                                 "retry")

        if len(ranges) <= 1:
            for r in ranges:
                fetch(*r)
            return
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            futures = [pool.submit(fetch, *r) for r in ranges]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise

    # -- blobs ---------------------------------------------------------------------------------

    def _upload_blob(self, key: str, path: Path, expected: str,
                     on_bytes: Progress | None = None,
                     unchanged: FileState | None = None) -> Outboard | None:
        size = path.stat().st_size
        if size <= self.multipart_threshold:
            return self._upload_in_one(key, path, expected, on_bytes)
        return self._upload_multipart(key, path, expected, size, on_bytes, unchanged)

    def _upload_multipart(self, key: str, path: Path, expected: str, size: int,
                          on_bytes: Progress | None = None,
                          unchanged: FileState | None = None) -> Outboard | None:
        """Read the file once: hash each part as it is read, upload parts in parallel.

        At most ``max_concurrency`` parts are in flight, which bounds memory. The upload is
        completed only if the bytes hashed to ``expected`` (and with If-None-Match, so an
        existing blob is never replaced); otherwise it is aborted and nothing is stored. A
        file just hashed while quiet (``unchanged``) is not hashed again: it must still be in
        that state once every part was read (:class:`~eoscatalog.core.hashing.FileState`).
        Each part is also hashed chunk by chunk as it is read: the blob's outboard, returned.
        """
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS))
        full_key = self._key(key)
        with self.errors(key):
            # CRC32 per part, checked by the server as each part lands (and what the
            # server combines at completion, cheaply: with no algorithm named, S3 computes a
            # CRC64 of the whole object).
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=full_key, ChecksumAlgorithm=PART_CHECKSUM
            )["UploadId"]
        try:
            hasher = StreamHasher()
            chunks = ChunkHasher(size)
            hashing = unchanged is None
            sent = 0
            slots = threading.BoundedSemaphore(self.max_concurrency)
            failed = threading.Event()
            with ThreadPoolExecutor(self.max_concurrency) as pool, open(path, "rb") as f:
                futures = []
                number = 1
                # A part that failed (after its retries) stops the reading: the upload is lost.
                while not failed.is_set() and (chunk := f.read(part_size)):
                    if hashing:
                        hasher.update(chunk)
                    if sent + len(chunk) <= size:  # a file that grew is refused below
                        chunks.update(chunk)
                    sent += len(chunk)
                    slots.acquire()
                    future = pool.submit(self._upload_part, key, upload_id, number, chunk)
                    future.add_done_callback(lambda _: slots.release())
                    future.add_done_callback(_on_failure(failed))
                    if on_bytes is not None:
                        future.add_done_callback(_reporter(on_bytes, len(chunk)))
                    futures.append(future)
                    number += 1
                try:
                    parts = [future.result() for future in futures]
                except BaseException:
                    pool.shutdown(cancel_futures=True)
                    raise
                still = unchanged is not None and sent == unchanged.size \
                    and unchanged.holds(os.fstat(f.fileno()))
            if unchanged is not None and not still:
                raise self._changed(path, expected)
            if hashing and hasher.hash != expected:
                raise self._mismatch(path, expected, hasher.hash)
            self._complete(key, upload_id, parts)
        except PreconditionFailedError:
            self._abort(key, upload_id)
            if not self.exists(key):
                # 409: a concurrent upload of this blob was in flight and may yet fail.
                raise StoreError(
                    f"a concurrent upload of {key!r} to {self.url} conflicted with this one; "
                    "nothing was recorded, retry"
                ) from None
            raise  # the blob is there: the caller checks its bytes
        except BaseException:
            self._abort(key, upload_id)
            raise
        return chunks.finish(expected) if sent == size else None

    def _complete(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> None:
        """CompleteMultipartUpload with If-None-Match, so an existing blob is never replaced.

        If the answer to a completion that worked was lost, its retry finds no such upload
        (404): the blob being there then means it was stored.
        """
        try:
            with self.errors(key):
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
        except NotFoundError:
            if not self.exists(key):
                raise StoreError(f"the multipart upload of {key!r} to {self.url} vanished "
                                 "before it was completed (aborted elsewhere?); retry") from None

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        with self.errors(key):
            r = self.client.upload_part(
                Bucket=self.bucket,
                Key=self._key(key),
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm=PART_CHECKSUM,
            )
        part = {"PartNumber": number, "ETag": r["ETag"]}
        if r.get("ChecksumCRC32"):
            part["ChecksumCRC32"] = r["ChecksumCRC32"]
        return part

    def _abort(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(StoreError, NotFoundError), self.errors(key):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id
            )

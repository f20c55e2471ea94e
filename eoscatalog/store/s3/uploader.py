"""Multipart uploads of blobs to an S3 store root (:class:`S3Uploader`, owned by
:class:`~eoscatalog.store.s3.store.S3Store`), and the clean-up of those an interruption left.

A multipart upload reads the file once, hashing each part as it is read, stops at the first
failed part and is aborted; it is completed (with ``If-None-Match: *``) only if the bytes hashed
to the blob's key.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from eoscatalog.core.errors import (
    EosError,
    IntegrityError,
    NotFoundError,
    PreconditionFailedError,
    StoreError,
)
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import OnBytes
from eoscatalog.core.hashing import FileState, StreamHasher
from eoscatalog.store.file_errors import changed_error, mismatch_error
from eoscatalog.store.outboard import ChunkHasher, Outboard, chunk_size_for
from eoscatalog.store.s3.client import S3Client
from eoscatalog.store.s3.limits import MAX_CONCURRENCY, PART_SIZE, RESUME_DAYS
from eoscatalog.store.s3.upload_journal import JournalEntry, JournalPart, UploadJournal

__all__ = ["S3Uploader"]

logger = logging.getLogger(__name__)

MAX_PARTS = 10_000
PART_CHECKSUM = "CRC32"


def _reporter(on_bytes: OnBytes, size: int) -> Callable[[Future[Any]], None]:
    """A done-callback that reports a part's bytes once it was sent."""

    def report(future: Future[Any]) -> None:
        if not future.cancelled() and future.exception() is None:
            on_bytes(size)

    return report


def _done(part: dict[str, Any]) -> Future[dict[str, Any]]:
    """A future already holding a part the server has (a resumed upload's)."""
    future: Future[dict[str, Any]] = Future()
    future.set_result(part)
    return future


def _on_failure(failed: threading.Event) -> Callable[[Future[Any]], None]:
    """A done-callback that sets ``failed`` when a part was not sent."""

    def check(future: Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            failed.set()

    return check


class S3Uploader:
    """Writes large blobs to one store root: ``bucket``, under the store-root ``prefix``, keys
    made by ``key_of`` (the prefix added to a checked store key), requests through ``s3``.
    ``exists`` tells a refused completion whose blob is there from a conflict. Parts are
    ``part_size`` bytes (more for files of over 10,000 parts), at most ``max_concurrency`` in
    flight. ``journal`` (set by whoever opens the store, from ``EOS_HOME``) remembers the
    unfinished uploads, so that an interrupted one is resumed (:meth:`upload`).
    """

    def __init__(self, s3: S3Client, bucket: str, prefix: str, url: str,
                 key_of: Callable[[str], str], exists: Callable[[str], bool], *,
                 part_size: int = PART_SIZE, max_concurrency: int = MAX_CONCURRENCY,
                 journal: UploadJournal | None = None) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.url = url
        self.key_of = key_of
        self.exists = exists
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self.journal = journal

    def part_size_for(self, size: int) -> int:
        """The part size of a blob of ``size`` bytes: :attr:`part_size`, more past 10,000
        parts, rounded up to whole outboard chunks (a part is compared by its chunk hashes).

        >>> u = S3Uploader.__new__(S3Uploader); u.part_size = 5_000_000
        >>> u.part_size_for(50 * 2**20) / 2**18
        20.0
        """
        chunk = chunk_size_for(size)
        return math.ceil(max(self.part_size, math.ceil(size / MAX_PARTS)) / chunk) * chunk

    def upload(self, key: str, path: Path, expected: str, size: int,
               on_bytes: OnBytes | None = None,
               unchanged: FileState | None = None) -> Outboard | None:
        """Read the file once: hash each part as it is read, upload parts in parallel.

        At most ``max_concurrency`` parts are in flight, which bounds memory. The upload is
        completed only if the bytes hashed to ``expected`` (and with If-None-Match, so an
        existing blob is never replaced); otherwise it is aborted and nothing is stored. A
        file just hashed while quiet (``unchanged``) is not hashed again: it must still be in
        that state once every part was read (:class:`~eoscatalog.core.hashing.FileState`).
        Each part is also hashed chunk by chunk as it is read: the blob's outboard, returned.

        With a :attr:`journal`, an upload interrupted earlier (killed, a network failure) is
        resumed: a part the server still holds as recorded, whose bytes in the file are those
        sent (same chunk hashes), is not sent again; an interrupted upload is kept, not
        aborted, for the next try.
        """
        part_size = self.part_size_for(size)
        full_key = self.key_of(key)
        resumed = self._resume(key, full_key, expected, size, part_size)
        entry, reusable = (resumed[0].id, resumed[1]) if resumed else (None, {})
        if resumed is not None:
            upload_id = resumed[0].upload_id
        else:
            with self.s3.errors(self.url, key):
                # CRC32 per part, checked by the server as each part lands (and what the
                # server combines at completion, cheaply: with no algorithm named, S3 computes
                # a CRC64 of the whole object).
                upload_id = self.s3.client.create_multipart_upload(
                    Bucket=self.bucket, Key=full_key, ChecksumAlgorithm=PART_CHECKSUM
                )["UploadId"]
            if self.journal is not None:
                entry = self.journal.start(self._root(), expected, size, part_size, full_key,
                                           upload_id)
        try:
            hasher = StreamHasher()
            chunks = ChunkHasher(size)
            hashing = unchanged is None
            sent = 0
            slots = threading.BoundedSemaphore(self.max_concurrency)
            failed = threading.Event()
            with ThreadPoolExecutor(self.max_concurrency) as pool, open(path, "rb") as f:
                futures: list[Future[dict[str, Any]]] = []
                number = 1
                # A part that failed (after its retries) stops the reading: the upload is lost.
                while not failed.is_set() and (chunk := f.read(part_size)):
                    if hashing:
                        hasher.update(chunk)
                    digest = b""
                    if sent + len(chunk) <= size:  # a file that grew is refused below
                        chunks.update(chunk)
                        digest = chunks.span_digest(sent, sent + len(chunk))
                    sent += len(chunk)
                    old = reusable.get(number)
                    if old is not None and old.size == len(chunk) and old.digest == digest:
                        futures.append(_done(old.completed()))  # the server has these bytes
                        if on_bytes is not None:
                            on_bytes(len(chunk))
                        number += 1
                        continue
                    slots.acquire()
                    future = pool.submit(self._upload_part, key, upload_id, number, chunk,
                                         entry, digest)
                    future.add_done_callback(lambda _: slots.release())
                    future.add_done_callback(_on_failure(failed))
                    if on_bytes is not None:
                        future.add_done_callback(_reporter(on_bytes, len(chunk)))
                    futures.append(future)
                    number += 1
                try:
                    parts = [future.result() for future in futures]
                except NotFoundError:
                    pool.shutdown(cancel_futures=True)
                    raise self._gone(key) from None
                except BaseException:
                    pool.shutdown(cancel_futures=True)
                    raise
                still = unchanged is not None and sent == unchanged.size \
                    and unchanged.holds(os.fstat(f.fileno()))
            if unchanged is not None and not still:
                raise changed_error(path, expected)
            if hashing and hasher.hash != expected:
                raise mismatch_error(path, expected, hasher.hash)
            self._complete(key, upload_id, parts)
            if self.journal is not None:
                self.journal.drop(entry)
        except PreconditionFailedError:
            self._abort(key, upload_id, entry)
            if not self.exists(key):
                # 409: a concurrent upload of this blob was in flight and may yet fail.
                raise StoreError(
                    f"a concurrent upload of {key!r} to {self.url} conflicted with this one; "
                    "nothing was recorded, retry"
                ) from None
            raise  # the blob is there: the caller checks its bytes
        except IntegrityError:
            self._abort(key, upload_id, entry)  # other bytes: nothing here is worth keeping
            raise
        except BaseException:
            if self.journal is None or entry is None:
                self._abort(key, upload_id, entry)
            else:
                self.journal.release(entry)  # kept: the next try resumes it
            raise
        finally:
            if self.journal is not None:
                self.journal.close()  # reopened by the next use: no file held between uploads
        return chunks.finish(expected) if sent == size else None

    def _root(self) -> str:
        """What the journal finds this store root by: its endpoint and URL."""
        return f"{self.s3.endpoint_url or 'aws'} {self.url}"

    def _resume(self, key: str, full_key: str, expected: str, size: int,
                part_size: int) -> tuple[JournalEntry, dict[int, JournalPart]] | None:
        """The journal's unfinished upload of this blob, and the parts the server still holds
        as recorded (number, size and ETag); None when there is none to resume (one that is
        gone from the server, or was cut in other parts, is forgotten)."""
        if self.journal is None:
            return None
        entry = self.journal.find(self._root(), expected, size)
        if entry is None:
            return None
        if entry.key != full_key:  # cannot be, but then it is not this blob's upload
            self.journal.drop(entry.id)
            return None
        if entry.part_size != part_size:  # the setting changed: its parts do not fit
            self._abort(key, entry.upload_id, entry.id)
            return None
        listed = self._listed_parts(key, entry.upload_id)
        if listed is None:  # aborted (eos gc, a lifecycle rule) or completed
            self.journal.drop(entry.id)
            return None
        good = {n: p for n, p in entry.parts.items()
                if listed.get(n) == (p.size, p.etag.strip('"'))}
        self.journal.forget_parts(entry.id, [n for n in entry.parts if n not in good])
        logger.info("resuming the upload of %s to %s: %d of its parts are stored", key,
                    self.url, len(good))
        return entry, good

    def _listed_parts(self, key: str, upload_id: str) -> dict[int, tuple[int, str]] | None:
        """The parts the server holds of an upload (number: size, ETag); None if it is gone."""
        found = {}
        try:
            with self.s3.errors(self.url, key):
                pages = self.s3.client.get_paginator("list_parts").paginate(
                    Bucket=self.bucket, Key=self.key_of(key), UploadId=upload_id)
                for page in pages:
                    for part in page.get("Parts", []):
                        found[part["PartNumber"]] = (part["Size"], part["ETag"].strip('"'))
        except NotFoundError:
            return None
        return found

    def _gone(self, key: str) -> EosError:
        """What a part refused for a missing upload means: the blob was stored meanwhile (by
        another process resuming this upload), or the upload was aborted elsewhere."""
        if self.exists(key):
            return PreconditionFailedError(f"blob {key!r} was stored in {self.url} meanwhile")
        return StoreError(f"the multipart upload of {key!r} to {self.url} was aborted while "
                          "it was sent (by eos gc, or a lifecycle rule?); retry")

    def _complete(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> None:
        """CompleteMultipartUpload with If-None-Match, so an existing blob is never replaced.

        If the answer to a completion that worked was lost, its retry finds no such upload
        (404): the blob being there then means it was stored.
        """
        try:
            with self.s3.errors(self.url, key):
                self.s3.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key_of(key),
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
        except NotFoundError:
            if not self.exists(key):
                raise StoreError(f"the multipart upload of {key!r} to {self.url} vanished "
                                 "before it was completed (aborted elsewhere?); retry") from None

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes,
                     entry: int | None, digest: bytes) -> dict[str, Any]:
        """Send one part; once the server acknowledged it, record it in the journal."""
        with self.s3.errors(self.url, key):
            r = self.s3.client.upload_part(
                Bucket=self.bucket,
                Key=self.key_of(key),
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm=PART_CHECKSUM,
            )
        part = JournalPart(number, len(data), r["ETag"], r.get("ChecksumCRC32") or None, digest)
        if self.journal is not None and digest:
            self.journal.record(entry, part)
            crash_point("put.part-recorded")
        return part.completed()

    def _abort(self, key: str, upload_id: str, entry: int | None = None) -> None:
        """Abort an upload (best effort) and forget it."""
        with contextlib.suppress(StoreError, NotFoundError), self.s3.errors(self.url, key):
            self.s3.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key_of(key), UploadId=upload_id
            )
        if self.journal is not None:
            self.journal.drop(entry)

    def clean_partial(self, older_than: datetime, *,
                      dry_run: bool = False) -> list[tuple[str, int]]:
        """Abort multipart uploads under the root started :data:`RESUME_DAYS` before
        ``older_than`` (gc's cutoff: a week past its grace period, the time a rerun has to
        resume one); return ``(what, bytes)`` for each."""
        older_than -= timedelta(days=RESUME_DAYS)
        found = []
        with self.s3.errors(self.url):
            client = self.s3.client
            pages = client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] >= older_than:
                        continue
                    parts = client.list_parts(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    ).get("Parts", [])
                    if not dry_run:
                        client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    found.append((f"multipart upload of {upload['Key'][len(self.prefix):]}",
                                  sum(p["Size"] for p in parts)))
        return found

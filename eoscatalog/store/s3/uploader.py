"""Multipart uploads of blobs to an S3 store root (:class:`S3Uploader`, owned by
:class:`~eoscatalog.store.s3.store.S3Store`), and the clean-up of those an interruption left.

A multipart upload reads the file once, hashing each part as it is read, stops at the first
failed part and is aborted; it is completed (with ``If-None-Match: *``) only if the bytes hashed
to the blob's key.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from eoscatalog.core.errors import NotFoundError, PreconditionFailedError, StoreError
from eoscatalog.core.fsio import OnBytes
from eoscatalog.core.hashing import FileState, StreamHasher
from eoscatalog.store.file_errors import changed_error, mismatch_error
from eoscatalog.store.outboard import ChunkHasher, Outboard
from eoscatalog.store.s3.client import S3Client
from eoscatalog.store.s3.limits import MAX_CONCURRENCY, PART_SIZE

__all__ = ["S3Uploader"]

MAX_PARTS = 10_000
PART_CHECKSUM = "CRC32"


def _reporter(on_bytes: OnBytes, size: int) -> Callable[[Future[Any]], None]:
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


class S3Uploader:
    """Writes large blobs to one store root: ``bucket``, under the store-root ``prefix``, keys
    made by ``key_of`` (the prefix added to a checked store key), requests through ``s3``.
    ``exists`` tells a refused completion whose blob is there from a conflict. Parts are
    ``part_size`` bytes (more for files of over 10,000 parts), at most ``max_concurrency`` in
    flight.
    """

    def __init__(self, s3: S3Client, bucket: str, prefix: str, url: str,
                 key_of: Callable[[str], str], exists: Callable[[str], bool], *,
                 part_size: int = PART_SIZE, max_concurrency: int = MAX_CONCURRENCY) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.url = url
        self.key_of = key_of
        self.exists = exists
        self.part_size = part_size
        self.max_concurrency = max_concurrency

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
        """
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS))
        full_key = self.key_of(key)
        with self.s3.errors(self.url, key):
            # CRC32 per part, checked by the server as each part lands (and what the
            # server combines at completion, cheaply: with no algorithm named, S3 computes a
            # CRC64 of the whole object).
            upload_id = self.s3.client.create_multipart_upload(
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
                raise changed_error(path, expected)
            if hashing and hasher.hash != expected:
                raise mismatch_error(path, expected, hasher.hash)
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

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        with self.s3.errors(self.url, key):
            r = self.s3.client.upload_part(
                Bucket=self.bucket,
                Key=self.key_of(key),
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
        with contextlib.suppress(StoreError, NotFoundError), self.s3.errors(self.url, key):
            self.s3.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key_of(key), UploadId=upload_id
            )

    def clean_partial(self, older_than: datetime, *,
                      dry_run: bool = False) -> list[tuple[str, int]]:
        """Abort multipart uploads under the root started before ``older_than``; return
        ``(what, bytes)`` for each."""
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

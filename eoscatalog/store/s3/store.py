"""S3Store: a store root under ``s3://bucket/prefix`` through botocore.

Credentials come from the standard AWS chain (environment, profile, instance role); the endpoint
from the argument, else ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, so MinIO, Ceph and other
S3-compatible services work. Create-if-absent and compare-and-swap use S3's conditional writes
(``If-None-Match: *`` and ``If-Match``); whether the service honours them is probed once.

The botocore client (built on first need: a command whose only request is the LIST of the log
never builds it), its configuration, retries and error messages: :mod:`~eoscatalog.store.s3.
client`; large downloads and uploads, small GETs and PUTs: :class:`~eoscatalog.store.s3.
downloader.S3Downloader`, :class:`~eoscatalog.store.s3.uploader.S3Uploader`, :class:`~eoscatalog.
store.s3.direct_get.DirectGet`, :class:`~eoscatalog.store.s3.direct.DirectPut`, owned by the store.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from eoscatalog.core.errors import NotFoundError, PreconditionFailedError, StoreError
from eoscatalog.core.fsio import OnBytes
from eoscatalog.core.hashing import FileState
from eoscatalog.store.base import Store
from eoscatalog.store.keys import BLOB_PREFIX, TOUCHED, check_key
from eoscatalog.store.object_info import ObjectInfo
from eoscatalog.store.outboard import Outboard
from eoscatalog.store.s3.client import S3Client, endpoint_from_env
from eoscatalog.store.s3.disposition import attachment
from eoscatalog.store.s3.limits import (
    BACKOFF,
    MAX_ATTEMPTS,
    MAX_CONCURRENCY,
    MULTIPART_THRESHOLD,
    PART_SIZE,
    READ_TIMEOUT,
)
from eoscatalog.store.s3.redaction import install_redaction
from eoscatalog.store.s3.uploader import S3Uploader

if TYPE_CHECKING:
    from eoscatalog.store.s3.direct import DirectPut
    from eoscatalog.store.s3.direct_get import DirectGet
    from eoscatalog.store.s3.downloader import S3Downloader

__all__ = ["BLIND_PUT_LIMIT", "S3Store", "endpoint_from_env"]

# Blobs up to 1 MiB go without a HEAD first: a round trip costs about as much as that many bytes.
BLIND_PUT_LIMIT = 1024 * 1024

install_redaction()  # botocore logs signed requests at DEBUG: mask credentials


class S3Store(Store):
    """A store root in an S3 bucket.

    ``max_attempts`` bounds the tries of every request and the streams of every download, and
    ``backoff`` scales the waits between them (:class:`RetryPolicy`); ``read_timeout`` is how
    many seconds a silent connection is waited on. Downloads (:attr:`downloads`) and
    multipart uploads (:attr:`uploads`) are the work of two collaborators the store owns.

    >>> S3Store("s3://my-bucket/labs/org", endpoint_url="http://127.0.0.1:9000").prefix
    'labs/org/'
    """

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_concurrency: int = MAX_CONCURRENCY,
        part_size: int = PART_SIZE,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        addressing_style: Literal["auto", "virtual", "path"] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        read_timeout: float = READ_TIMEOUT,
        backoff: float = BACKOFF,
        blind_put_limit: int = BLIND_PUT_LIMIT,
    ) -> None:
        if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
            raise StoreError(f"invalid S3 store URL {url!r}: use s3://BUCKET or s3://BUCKET/prefix")
        bucket, _, prefix = url[5:].partition("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.multipart_threshold = multipart_threshold
        self.blind_put_limit = min(blind_put_limit, multipart_threshold)
        self.max_attempts = max_attempts
        self.s3 = S3Client(endpoint_url=endpoint_url, region=region, max_attempts=max_attempts,
                           backoff=backoff, read_timeout=read_timeout,
                           max_pool_connections=max(16, max_concurrency * 2),
                           addressing_style=addressing_style)
        self.endpoint_url = self.s3.endpoint_url
        self._part_size, self._max_concurrency = part_size, max_concurrency
        self.uploads = S3Uploader(self.s3, bucket, self.prefix, self.url, self._key, self.exists,
                                  part_size=part_size, max_concurrency=max_concurrency)
        self._conditional: bool | None = None
        self._bucket_exists = False
        self._probe_lock = threading.Lock()

    @functools.cached_property
    def small_puts(self) -> DirectPut:
        """Small blobs' PUTs, made on first use (their modules load botocore's HTTP stack)."""
        from eoscatalog.store.s3 import direct
        return direct.DirectPut(self.s3, self.bucket)

    @functools.cached_property
    def small_gets(self) -> DirectGet:
        """Small blobs' GETs, made on first use."""
        from eoscatalog.store.s3 import direct_get
        return direct_get.DirectGet(self.s3, self.bucket, self.url, self._key)

    @functools.cached_property
    def downloads(self) -> S3Downloader:
        """The store's downloads, made on first use (their module loads botocore's HTTP stack)."""
        from eoscatalog.store.s3 import downloader

        return downloader.S3Downloader(self.s3, self.bucket, self.url, self._key, self.head,
                            part_size=self._part_size, max_concurrency=self._max_concurrency)

    @property
    def client(self) -> Any:
        """The botocore S3 client (built on first need)."""
        return self.s3.client

    @client.setter
    def client(self, value: Any) -> None:
        self.s3.client = value

    @property
    def region(self) -> str | None:
        """The region the store's requests are signed for."""
        return self.s3.region

    def s3_options(self) -> dict[str, Any] | None:
        """The endpoint and region plain ``s3://`` URLs are reached with.

        >>> S3Store("s3://b/org", endpoint_url="http://127.0.0.1:9000",
        ...         region="eu-west-1").s3_options()
        {'endpoint_url': 'http://127.0.0.1:9000', 'region': 'eu-west-1'}
        """
        return {"endpoint_url": self.endpoint_url, "region": self.region}

    def reader_location(self, key: str) -> tuple[str, dict[str, Any] | None]:
        """The object's ``s3://`` URL, and the endpoint and region s3fs needs to reach it.

        >>> url, options = S3Store("s3://b/org", endpoint_url="http://127.0.0.1:9000",
        ...                        region="us-east-1").reader_location("blobs/x")
        >>> url, options["client_kwargs"]["endpoint_url"]
        ('s3://b/org/blobs/x', 'http://127.0.0.1:9000')
        """
        client = {k: v for k, v in (("endpoint_url", self.endpoint_url),
                                    ("region_name", self.region)) if v}
        return f"s3://{self.bucket}/{self._key(key)}", {"client_kwargs": client} if client else None

    # -- errors --------------------------------------------------------------------------------

    def _where(self) -> str:
        return self.s3.where(self.url)

    def errors(self, key: str = "") -> AbstractContextManager[None]:
        """Translate botocore's exceptions into the eoscatalog tree (:meth:`S3Client.errors`)."""
        return self.s3.errors(self.url, key)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    # -- primitives ----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        return b"".join(self.iter_chunks(key))

    def iter_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream ``[start, end)``, resuming a cut stream (:meth:`S3Downloader.iter_chunks`)."""
        return self.downloads.iter_chunks(key, start, end)

    def download_blob(self, hash_string: str, dest: str | os.PathLike[str], *,
                      on_bytes: OnBytes | None = None, durable: bool = False,
                      size: int | None = None) -> Path:
        """Download a blob to ``dest``, verified before it is renamed into place: one GET if the
        catalog says it is small (``size``, :meth:`DirectGet.download_blob`), else parallel
        ranged GETs (:meth:`S3Downloader.download_blob`)."""
        if size is not None and 0 < size <= self.small_gets.limit and (
                done := self.small_gets.download_blob(hash_string, dest, on_bytes)):
            return done
        return self.downloads.download_blob(hash_string, dest, on_bytes=on_bytes,
                                            durable=durable)

    def _upload_blob(self, key: str, path: Path, expected: str,
                     on_bytes: OnBytes | None = None,
                     unchanged: FileState | None = None) -> Outboard | None:
        size = path.stat().st_size
        if size <= self.multipart_threshold:
            return self._upload_in_one(key, path, expected, on_bytes)
        return self.uploads.upload(key, path, expected, size, on_bytes, unchanged)

    def put(
        self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None
    ) -> str:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key), "Body": data}
        if if_absent:
            args["IfNoneMatch"] = "*"
        if if_match is not None:
            args["IfMatch"] = if_match
        try:
            with self.errors(key):
                etag: str = self.client.put_object(**args)["ETag"]
                return etag.strip('"')
        except NotFoundError:
            # S3 answers If-Match on a missing key with 404: for us the swap simply lost.
            raise PreconditionFailedError(
                f"object {key!r} in {self.url} does not exist, so it cannot be swapped"
            ) from None

    def _create_blob(self, key: str, data: bytes) -> bool:
        """One ``If-None-Match: *`` PUT (:class:`DirectPut`: no botocore API call around it):
        True when written, False on 412 (the blob is there); a 409 (a concurrent write in
        flight, which may yet fail) is settled as base does."""
        with self.errors(key):
            try:
                self.small_puts.put_if_absent(self._key(key), data)
                return True
            except ClientError as e:
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status == 412:
                    return False
                if status != 409:
                    raise
        return super()._create_blob(key, data)

    def head(self, key: str) -> ObjectInfo:
        try:
            with self.errors(key):
                r = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except NotFoundError:
            # A HEAD answer has no body: a missing bucket also looks like a missing key.
            self._check_bucket()
            raise
        self._bucket_exists = True
        return ObjectInfo(
            key, r["ContentLength"], r["ETag"].strip('"'), r["LastModified"].isoformat()
        )

    def move(self, key: str, new_key: str, *, if_absent: bool = False) -> None:
        """Copy the object inside S3 (multipart for large objects), then delete it.

        ``if_absent`` (gc putting back a blob it set aside) cannot copy: S3 takes no
        create-if-absent on a copy, and the bucket policy refuses copies into ``blobs/``. The
        bytes are streamed through a temp file and stored as any blob is (hashed, create-if-
        absent), so only the right bytes go back.
        """
        if if_absent:
            self._move_by_upload(key, new_key)
        else:
            with self.errors(key):
                from boto3.s3.inject import copy  # managed: multipart when large

                copy(self.client, {"Bucket": self.bucket, "Key": self._key(key)}, self.bucket,
                     self._key(new_key))
        with self.errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def _move_by_upload(self, key: str, new_key: str) -> None:
        if not new_key.startswith(BLOB_PREFIX):
            self.put(new_key, self.get(key), if_absent=True)
            return
        with tempfile.TemporaryDirectory(prefix="eos-move-") as folder:
            path = Path(folder) / "blob"
            with open(path, "wb") as f:
                for chunk in self.iter_chunks(key):
                    f.write(chunk)
            if not self.put_blob("blake3:" + new_key.rsplit("/", 1)[-1], path, ask_first=True):
                raise PreconditionFailedError(f"object {new_key!r} already exists in {self.url}")

    def touch(self, key: str) -> None:
        """Record that an object was just used, in a tiny marker object beside the layout.

        Not a copy of the object onto itself: that would rewrite every byte, and in a
        versioned bucket keep a full old version of it each time.
        """
        self.head(key)
        with self.errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(TOUCHED + key), Body=b"")

    def clean_partial(self, older_than: datetime, *,
                      dry_run: bool = False) -> list[tuple[str, int]]:
        """Abort multipart uploads under the root started before ``older_than``."""
        return self.uploads.clean_partial(older_than, dry_run=dry_run)

    def presigned_url(self, key: str, expires_in: int, filename: str | None = None) -> str:
        """A SigV4-signed GET link for this one object (S3 allows at most 7 days).

        With ``filename``, S3 answers with ``Content-Disposition: attachment`` naming it (the
        header is part of what is signed), so downloads are saved under that name.
        """
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = attachment(filename)
        with self.errors(key):
            url: str = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires_in)
            )
        return url

    def credentials_expire_at(self) -> datetime | None:
        """When temporary credentials (a role, SSO, a session token) expire, if known."""
        return self.s3.credentials_expire_at()

    def _check_bucket(self) -> None:
        """Raise the bucket's StoreError if it does not exist (asked once per store)."""
        if self._bucket_exists:
            return
        with self.errors():
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as e:
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status == 404:
                    e.response.setdefault("Error", {})["Code"] = "NoSuchBucket"
                raise
        self._bucket_exists = True

    def list(self, prefix: str, *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        plain = self.s3.plain_list(self.bucket, self.prefix, prefix, start_after)  # no botocore
        if plain is not None:
            yield from plain
            return
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after is not None:
            args["StartAfter"] = self.prefix + start_after
        with self.errors(prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(**args):
                for obj in page.get("Contents", []):
                    yield ObjectInfo(obj["Key"][len(self.prefix):], obj["Size"],
                                     obj["ETag"].strip('"'), obj["LastModified"].isoformat())

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        full = self.prefix + prefix
        found: list[str] = []
        with self.errors(prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=full, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    found.append(common["Prefix"][len(full) :].rstrip("/"))
        return sorted(found)

    def delete(self, key: str) -> None:
        with self.errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    @property
    def supports_conditional_writes(self) -> bool:
        """Probe once whether the service refuses a second ``If-None-Match: *`` write."""
        with self._probe_lock:
            if self._conditional is None:
                self._conditional = self._probe_conditional_writes()
            return self._conditional

    def _probe_conditional_writes(self) -> bool:
        """Two ``If-None-Match: *`` writes of one new key: the second must be refused.

        Only a refusal of the header itself (400 or 501) means "unsupported"; any other error
        (no access, a network fault) is raised, never mistaken for a missing feature.
        """
        key = f"_eos/probe/{uuid.uuid4().hex}"
        full = self._key(key)
        with self.errors(key):
            self.client.put_object(Bucket=self.bucket, Key=full, Body=b"probe", IfNoneMatch="*")
        try:
            try:
                self.client.put_object(
                    Bucket=self.bucket, Key=full, Body=b"probe", IfNoneMatch="*"
                )
            except ClientError as e:
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status in (409, 412):
                    return True
                if status in (400, 501):
                    return False
                with self.errors(key):
                    raise
            return False
        finally:
            with contextlib.suppress(StoreError):
                self.delete(key)

    def close(self) -> None:
        self.s3.close()

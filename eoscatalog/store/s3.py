"""S3Store: a store root under ``s3://bucket/prefix`` through boto3.

Credentials come from boto3's standard chain (environment, profile, instance role); the endpoint
from the argument, else ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, so MinIO, Ceph and other
S3-compatible services work. Create-if-absent and compare-and-swap use S3's conditional writes
(``If-None-Match: *`` and ``If-Match``); whether the service honours them is probed once.

Retries (:class:`RetryPolicy`): every request is tried at most ``max_attempts`` times in all
(default 4), with exponential backoff and full jitter, when it failed in a way that may pass:
500, 502, 503, 504, throttling (503 SlowDown), a 409 ConditionalRequestConflict or
OperationAborted (a conflicting conditional write was in flight), a connection that could not be
made, was reset or timed out (``read_timeout``). Nothing else is retried: 403, 404, 412 are
answers. A download whose stream is cut goes on with a ranged GET from the next byte (pinned to
the first answer's ETag), at most ``max_attempts`` streams per object. What is still failing
after that is raised as StoreError; blobs are hashed while they stream and renamed into place
only when complete (``Store.download_blob``), and a failed multipart upload is aborted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
)
from botocore.retries.standard import (
    RetryEventAdapter,
    StandardRetryConditions,
    ThrottledRetryableChecker,
)
from urllib3.exceptions import HTTPError as URLLib3Error

from ..errors import NotFoundError, PreconditionFailedError, StoreError
from ..hashing import StreamHasher, hash_bytes
from ..redaction import install_redaction
from .base import QUARANTINE, TOUCHED, ObjectInfo, Progress, Store, check_key

__all__ = ["RetryPolicy", "S3Store", "endpoint_from_env"]

logger = logging.getLogger(__name__)

MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
MAX_PARTS = 10_000
MAX_CONCURRENCY = 8
READ_CHUNK = 1024 * 1024
STREAM_READ = 64 * 1024  # a cut loses at most this much of what was already received
MAX_ATTEMPTS = 4
READ_TIMEOUT = 60.0
BACKOFF = 0.1  # seconds: the first retry waits up to this, each next one up to twice as long
MAX_BACKOFF = 20.0
THROTTLED_BACKOFF = 10  # throttling (SlowDown) backs off this many times longer

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict"}
_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
# 409s that mean "a conflicting write is in flight, try again" (not BucketNotEmpty and the like).
_RETRYABLE_CONFLICTS = {"ConditionalRequestConflict", "OperationAborted"}
# How a GetObject stream breaks mid-body: reset, closed early, timed out.
_STREAM_CUT = (HTTPClientError, IncompleteReadError, URLLib3Error, ConnectionError)

install_redaction()  # botocore logs signed requests at DEBUG: mask credentials


class RetryPolicy:
    """Which failed S3 requests are tried again, how many times, and after how long.

    botocore's "standard" conditions (500, 502, 503, 504, throttling codes such as SlowDown,
    RequestTimeout, connection errors and timeouts) plus S3's retryable 409s, at most
    ``max_attempts`` attempts in all, each retry after ``uniform(0, min(MAX_BACKOFF,
    backoff * 2 ** (attempt - 1)))`` seconds (``THROTTLED_BACKOFF`` times that when throttled).
    Installed on a client's ``needs-retry`` event in place of botocore's handler.

    >>> policy = RetryPolicy(max_attempts=3, backoff=0.5)
    >>> all(0 <= policy.delay(n) <= 0.5 * 2 ** (n - 1) for n in (1, 2, 3))
    True
    """

    def __init__(self, max_attempts: int = MAX_ATTEMPTS, backoff: float = BACKOFF) -> None:
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise StoreError(f"max_attempts must be a whole number of at least 1, not "
                             f"{max_attempts!r}")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._conditions = StandardRetryConditions(max_attempts=max_attempts)
        self._throttled = ThrottledRetryableChecker()
        self._adapter = RetryEventAdapter()

    def install(self, client: Any) -> None:
        """Replace the client's retry handler with this policy."""
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.unregister(f"needs-retry.{service}", unique_id=f"retry-config-{service}")
        client.meta.events.register(f"needs-retry.{service}", self.needs_retry,
                                    unique_id="eoscatalog-retry-policy")

    def delay(self, attempt: int, *, throttled: bool = False) -> float:
        """How long to wait after failed attempt ``attempt`` (1-based): full jitter."""
        scale = self.backoff * (THROTTLED_BACKOFF if throttled else 1)
        return random.uniform(0, min(MAX_BACKOFF, scale * 2 ** (attempt - 1)))

    def needs_retry(self, **kwargs: Any) -> float | None:
        """The ``needs-retry`` handler: the seconds to sleep before retrying, or None."""
        context = self._adapter.create_retry_context(**kwargs)
        if not (self._conditions.is_retryable(context) or self._is_conflict(context)):
            return None
        throttled = self._throttled.is_retryable(context)
        wait = self.delay(context.attempt_number, throttled=throttled)
        logger.debug("retrying %s (attempt %d of %d failed: %s) in %.2fs",
                     context.operation_model.name if context.operation_model else "request",
                     context.attempt_number, self.max_attempts,
                     context.get_error_code() or context.caught_exception, wait)
        return wait

    def _is_conflict(self, context: Any) -> bool:
        return (context.attempt_number < self.max_attempts
                and context.http_response is not None
                and context.http_response.status_code == 409
                and context.get_error_code() in _RETRYABLE_CONFLICTS)


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


def endpoint_from_env() -> str | None:
    """The S3 endpoint named by ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``, if any."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


class S3Store(Store):
    """A store root in an S3 bucket.

    ``max_attempts`` bounds the tries of every request and the streams of every download, and
    ``backoff`` scales the waits between them (:class:`RetryPolicy`); ``read_timeout`` is how
    many seconds a silent connection is waited on.

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
        addressing_style: str | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        read_timeout: float = READ_TIMEOUT,
        backoff: float = BACKOFF,
    ) -> None:
        if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
            raise StoreError(f"invalid S3 store URL {url!r}: use s3://BUCKET or s3://BUCKET/prefix")
        bucket, _, prefix = url[5:].partition("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.endpoint_url = endpoint_url or endpoint_from_env()
        self.max_concurrency = max_concurrency
        self.part_size = part_size
        self.multipart_threshold = multipart_threshold
        self.max_attempts = max_attempts
        self.retry = RetryPolicy(max_attempts, backoff)
        config = Config(
            # total_max_attempts counts the first try (botocore's max_attempts counts retries);
            # RetryPolicy replaces the handler, this keeps the same budget if it could not.
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=max(16, max_concurrency * 2),
            connect_timeout=10,
            read_timeout=read_timeout,
            # We verify every byte with BLAKE3; extra CRCs only break third-party S3 services.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": addressing_style or ("path" if self.endpoint_url else "auto")},
            signature_version="s3v4",  # presigned links too: SigV2 is deprecated
        )
        self._session = boto3.session.Session()
        self.client: Any = self._session.client(
            "s3", endpoint_url=self.endpoint_url, region_name=region, config=config
        )
        self.retry.install(self.client)
        self._conditional: bool | None = None
        self._bucket_exists = False
        self._probe_lock = threading.Lock()

    def reader_location(self, key: str) -> tuple[str, dict[str, Any] | None]:
        """The object's ``s3://`` URL, and the endpoint and region s3fs needs to reach it.

        >>> url, options = S3Store("s3://b/org", endpoint_url="http://127.0.0.1:9000",
        ...                        region="us-east-1").reader_location("blobs/x")
        >>> url, options["client_kwargs"]["endpoint_url"]
        ('s3://b/org/blobs/x', 'http://127.0.0.1:9000')
        """
        client: dict[str, Any] = {}
        if self.endpoint_url:
            client["endpoint_url"] = self.endpoint_url
        if self.client.meta.region_name:
            client["region_name"] = self.client.meta.region_name
        return f"s3://{self.bucket}/{self._key(key)}", ({"client_kwargs": client} if client
                                                        else None)

    # -- errors --------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.url} at {self.endpoint_url}" if self.endpoint_url else self.url

    @contextlib.contextmanager
    def errors(self, key: str = "") -> Iterator[None]:
        """Translate botocore's exceptions into the eoscatalog tree, in one place."""
        try:
            yield
        except ClientError as e:
            error = e.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                raise StoreError(
                    f"bucket {self.bucket!r} does not exist ({self._where()}): create it or fix "
                    "the store URL (EOS_STORE, or `eos init --store`)"
                ) from None
            if code in _NOT_FOUND or status == 404:
                raise NotFoundError(f"no object {key!r} in {self.url}") from None
            if code in _PRECONDITION or status in (409, 412):
                raise PreconditionFailedError(
                    f"object {key!r} in {self.url} already exists or changed ({code})"
                ) from None
            if code in _CREDENTIALS:
                raise StoreError(
                    f"S3 rejected the credentials for {self._where()} ({code}): check "
                    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or your AWS profile"
                ) from None
            if code == "AccessDenied" or status == 403:
                raise StoreError(
                    f"access denied to {key or 'the store'} in {self._where()}: your credentials "
                    "lack permission for this bucket or prefix"
                ) from None
            message = error.get("Message", "")
            tries = e.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
            raise StoreError(
                f"S3 request failed for {key!r} in {self._where()}: {code} {message}"
                + (f" (tried {tries} times)" if tries > 1 else "")
            ) from None
        except NoCredentialsError:
            raise StoreError(
                f"no AWS credentials found for {self._where()}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run on a machine with an instance role"
            ) from None
        except ConnectionError as e:
            raise StoreError(
                f"cannot reach S3 at {self.endpoint_url or 'AWS'} for {self.url}: {e} (tried "
                f"{self.max_attempts} times). Check the endpoint (endpoint_url, AWS_ENDPOINT_URL) "
                "and your network"
            ) from None
        except (HTTPClientError, IncompleteReadError) as e:
            raise StoreError(
                f"S3 at {self.endpoint_url or 'AWS'} did not answer the request for {key!r} in "
                f"{self.url}: {e} (tried {self.max_attempts} times). Check your network, then "
                "retry"
            ) from None
        except BotoCoreError as e:
            raise StoreError(f"S3 request for {key!r} in {self._where()} failed: {e}") from None

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    # -- primitives ----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        return b"".join(self.iter_chunks(key))

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
                return self.client.put_object(**args)["ETag"].strip('"')
        except NotFoundError:
            # S3 answers If-Match on a missing key with 404: for us the swap simply lost.
            raise PreconditionFailedError(
                f"object {key!r} in {self.url} does not exist, so it cannot be swapped"
            ) from None

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

    def quarantine(self, key: str) -> str:
        """Copy the object to ``quarantine/<key>`` inside S3 (multipart for large objects),
        then delete it."""
        target = QUARANTINE + key
        with self.errors(key):
            self.client.copy({"Bucket": self.bucket, "Key": self._key(key)}, self.bucket,
                             self._key(target))
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        return target

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
        found = []
        with self.errors():
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] >= older_than:
                        continue
                    parts = self.client.list_parts(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    ).get("Parts", [])
                    if not dry_run:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    found.append((f"multipart upload of {upload['Key'][len(self.prefix):]}",
                                  sum(p["Size"] for p in parts)))
        return found

    def presigned_url(self, key: str, expires_in: int, filename: str | None = None) -> str:
        """A SigV4-signed GET link for this one object (S3 allows at most 7 days).

        With ``filename``, S3 answers with ``Content-Disposition: attachment`` naming it (the
        header is part of what is signed), so downloads are saved under that name.
        """
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = self._attachment(filename)
        with self.errors(key):
            url: str = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires_in)
            )
        return url

    @staticmethod
    def _attachment(filename: str) -> str:
        """A ``Content-Disposition`` value saving the download as ``filename`` (RFC 6266): a
        quoted ASCII name, plus ``filename*`` in UTF-8 (RFC 5987) when the name needs more.

        >>> S3Store._attachment("report.pdf")
        'attachment; filename="report.pdf"'
        >>> print(S3Store._attachment('café "v2".csv'))
        attachment; filename="caf_ _v2_.csv"; filename*=UTF-8''caf%C3%A9%20%22v2%22.csv
        """
        # Quotes, backslashes and percent signs are kept out of the quoted form: clients
        # disagree on escapes in it, and some decode %XX there.
        plain = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename)
        if plain == filename:
            return f'attachment; filename="{filename}"'
        return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"

    def credentials_expire_at(self) -> datetime | None:
        """When temporary credentials (a role, SSO, a session token) expire, if known."""
        credentials = self._session.get_credentials()
        expiry = getattr(credentials, "_expiry_time", None)
        return expiry if isinstance(expiry, datetime) else None

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
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after is not None:
            args["StartAfter"] = self.prefix + start_after
        with self.errors(prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(**args):
                for obj in page.get("Contents", []):
                    yield ObjectInfo(
                        obj["Key"][len(self.prefix) :],
                        obj["Size"],
                        obj["ETag"].strip('"'),
                        obj["LastModified"].isoformat(),
                    )

    def list_dirs(self, prefix: str) -> list[str]:
        full = self.prefix + prefix
        found: list[str] = []
        with self.errors(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full, Delimiter="/"
            )
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    found.append(common["Prefix"][len(full) :].rstrip("/"))
        return sorted(found)

    def delete(self, key: str) -> None:
        with self.errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def iter_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream ``[start, end)``; a stream cut mid-body goes on with a ranged GET from the
        next byte, at most ``max_attempts`` streams in all (StoreError after that).

        Every ranged GET after the first carries ``If-Match`` with the first answer's ETag, so
        the pieces come from one version of the object, never from two.
        """
        if end is not None and end <= start:
            return
        offset, stop, etag = start, end, None
        cut: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            opened = self._open_range(key, offset, stop, etag)
            if opened is None:
                return  # the range starts at or past the end: no bytes
            response, body = opened
            cut = None
            if etag is None:
                etag = response["ETag"]
                # What this answer holds: a range asked past the end is served up to the end.
                stop = offset + response["ContentLength"]
            pending = bytearray()  # received bytes not yet yielded, kept across a cut
            try:
                while True:
                    try:
                        data = body.read(STREAM_READ)
                    except _STREAM_CUT as e:
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
                if etag is not None and code in _PRECONDITION:
                    raise StoreError(
                        f"{key!r} in {self.url} was replaced while it was being read; retry"
                    ) from None
                raise
        if offset and not response.get("ContentRange", "").startswith(f"bytes {offset}-"):
            response["Body"].close()
            raise StoreError(f"{self._where()} ignored the Range of a GET of {key!r}: it "
                             "cannot resume downloads")
        return response, response["Body"]

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

    # -- blobs ---------------------------------------------------------------------------------

    def _upload_blob(self, key: str, path: Path, expected: str,
                     on_bytes: Progress | None = None) -> None:
        size = path.stat().st_size
        if size <= self.multipart_threshold:
            data = path.read_bytes()
            actual = hash_bytes(data)
            if actual != expected:
                raise self._mismatch(path, expected, actual)
            self._put_if_absent_ok(key, data)
            if on_bytes is not None:
                on_bytes(len(data))
            return
        self._upload_multipart(key, path, expected, size, on_bytes)

    def _upload_multipart(self, key: str, path: Path, expected: str, size: int,
                          on_bytes: Progress | None = None) -> None:
        """Read the file once: hash each part as it is read, upload parts in parallel.

        At most ``max_concurrency`` parts are in flight, which bounds memory. The upload is
        completed only if the bytes hashed to ``expected`` (and with If-None-Match, so an
        existing blob is never replaced); otherwise it is aborted and nothing is stored.
        """
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS))
        full_key = self._key(key)
        with self.errors(key):
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=full_key)[
                "UploadId"
            ]
        try:
            hasher = StreamHasher()
            slots = threading.BoundedSemaphore(self.max_concurrency)
            failed = threading.Event()
            with ThreadPoolExecutor(self.max_concurrency) as pool, open(path, "rb") as f:
                futures = []
                number = 1
                # A part that failed (after its retries) stops the reading: the upload is lost.
                while not failed.is_set() and (chunk := f.read(part_size)):
                    hasher.update(chunk)
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
            if hasher.hash != expected:
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
        except BaseException:
            self._abort(key, upload_id)
            raise

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
            )
        return {"PartNumber": number, "ETag": r["ETag"]}

    def _abort(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(StoreError, NotFoundError), self.errors(key):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id
            )

    def close(self) -> None:
        self.client.close()

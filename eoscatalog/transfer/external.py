"""Plain sources outside the catalog: ``s3://`` objects and ``http(s)://`` URLs.

Downloads stream into a temporary file beside the destination and are renamed into place only
after every check the source offers passed: the size always; for S3 the SHA-256 checksum when
the object has one, else the ETag when it is a plain MD5 (single-part, not KMS or customer-key
encrypted); for URLs a ``Content-MD5`` header (HTTP ETags are opaque). A body that breaks off
is a StoreError, bytes that differ an IntegrityError; nothing is left behind on failure.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from eoscatalog.core.errors import IntegrityError, InvalidNameError, NotFoundError, StoreError
from eoscatalog.core.fsio import staged
from eoscatalog.store.s3.client import S3Client

__all__ = ["download_s3", "download_url", "split_s3_url", "upload_s3"]

CHUNK = 1024 * 1024
_MD5_RE = re.compile(r'^"?([0-9a-f]{32})"?$')


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b.txt`` -> ``("bucket", "a/b.txt")``.

    >>> split_s3_url("s3://lab/raw/reads.fq.gz")
    ('lab', 'raw/reads.fq.gz')
    """
    if not url.startswith("s3://"):
        raise InvalidNameError(f"{url!r} is not an s3:// URL")
    bucket, _, key = url[5:].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise InvalidNameError(f"invalid S3 URL {url!r}: use s3://BUCKET/KEY (a whole object)")
    return bucket, key


class _Checks:
    """Running digests of a download, compared with what the source promised."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha256 = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.md5.update(chunk)
        self.sha256.update(chunk)

    def expect(self, kind: str, expected: str, actual: str) -> None:
        if expected != actual:
            raise IntegrityError(
                f"{self.what} arrived damaged or changed while downloading: {kind} expected "
                f"{expected}, got {actual}; nothing was kept. Retry the download.",
                expected=f"{kind}:{expected}",
                actual=f"{kind}:{actual}",
            )


def _check_size(checks: _Checks, expected: int, url: str) -> None:
    if checks.size < expected:
        raise StoreError(f"the download of {url} broke off after {checks.size} of {expected} "
                         "bytes; nothing was kept, retry")
    checks.expect("size", str(expected), str(checks.size))


def _write_checked(chunks: Iterator[bytes], dest: Path, checks: _Checks,
                   verify: Callable[[_Checks], None]) -> Path:
    dest = Path(dest)
    with staged(dest, durable=False) as temp:
        for chunk in chunks:
            checks.update(chunk)
            temp.write(chunk)
        verify(checks)
        temp.replace()
    return dest


def download_s3(url: str, dest: str | os.PathLike[str], *, endpoint_url: str | None = None,
                region: str | None = None) -> Path:
    """Download one S3 object to ``dest``, checked by size and checksum or ETag.

    Credentials come from boto3's standard chain; ``endpoint_url`` (or ``AWS_ENDPOINT_URL``)
    points at S3-compatible services.
    """
    bucket, key = split_s3_url(url)
    s3 = S3Client(endpoint_url=endpoint_url, region=region)
    where = f"s3://{bucket}"
    try:
        with s3.errors(where, key):
            head = s3.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        size, etag = head["ContentLength"], head.get("ETag", "")
        sha256 = head.get("ChecksumSHA256")
        # An ETag is the MD5 of the bytes only for single-part objects stored without KMS or
        # customer-key encryption; otherwise it is opaque and only the size is checked.
        encrypted = str(head.get("ServerSideEncryption", "")).startswith("aws:kms") or bool(
            head.get("SSECustomerAlgorithm")
        )

        def verify(checks: _Checks) -> None:
            _check_size(checks, size, url)
            if sha256 and "-" not in sha256:
                actual = base64.b64encode(checks.sha256.digest()).decode()
                checks.expect("sha256", sha256, actual)
            elif not encrypted and (match := _MD5_RE.match(etag)):
                checks.expect("md5", match.group(1), checks.md5.hexdigest())

        return _write_checked(
            _s3_chunks(s3, bucket, key, etag), Path(dest), _Checks(url), verify
        )
    except NotFoundError:
        raise NotFoundError(f"no object at {url}: check the bucket and key") from None
    finally:
        s3.close()


def _s3_chunks(s3: S3Client, bucket: str, key: str, etag: str) -> Iterator[bytes]:
    with s3.errors(f"s3://{bucket}", key):
        # IfMatch: an object replaced between the HEAD and the GET is refused, not mixed.
        body = s3.client.get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()


def upload_s3(path: str | os.PathLike[str], url: str, *, endpoint_url: str | None = None,
              region: str | None = None) -> None:
    """Upload a local file to an S3 URL as a plain object (no catalog entry)."""
    from boto3.s3.transfer import S3Transfer

    bucket, key = split_s3_url(url)
    s3 = S3Client(endpoint_url=endpoint_url, region=region)
    try:
        with s3.errors(f"s3://{bucket}", key):
            S3Transfer(s3.client).upload_file(os.fspath(path), bucket, key)
    finally:
        s3.close()


def download_url(url: str, dest: str | os.PathLike[str], *, timeout: float = 60) -> Path:
    """Download an ``http(s)://`` URL to ``dest``, checked by size and MD5 where offered."""
    if not url.startswith(("https://", "http://")):
        raise InvalidNameError(f"{url!r} is not an http:// or https:// URL")
    request = urllib.request.Request(url, headers={"User-Agent": "eoscatalog"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code in (403, 404, 410):
            raise NotFoundError(f"{url} answered {e.code} {e.reason}: the link is wrong, "
                                "expired, or not public") from None
        raise StoreError(f"{url} answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise StoreError(f"cannot reach {url}: {reason}") from None
    with response:
        length = response.headers.get("Content-Length")
        content_md5 = response.headers.get("Content-MD5")  # HTTP ETags are opaque: not used

        def verify(checks: _Checks) -> None:
            if length is not None and length.isdigit():
                _check_size(checks, int(length), url)
            if content_md5:
                checks.expect("md5", content_md5,
                              base64.b64encode(checks.md5.digest()).decode())

        def chunks() -> Iterator[bytes]:
            try:
                while chunk := response.read(CHUNK):
                    yield chunk
            except (OSError, http.client.HTTPException) as e:
                raise StoreError(f"the download of {url} broke off: {e!r}; retry") from None

        return _write_checked(chunks(), Path(dest), _Checks(url), verify)

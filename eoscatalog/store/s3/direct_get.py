"""Small-object GETs without botocore's per-request machinery: :class:`DirectGet`.

A ``GetObject`` API call costs about 1 ms of CPU around the bytes: parameter validation,
endpoint rules, a dozen events, the user agent, parsing the answer's headers into a dict. A
download sync of thousands of 4-64 KiB files spends most of its time there. :class:`DirectGet`
sends the one request a small blob needs, a plain ``GET``, signed by botocore's own SigV4
signer (``S3SigV4Auth``) with the client's credentials and region, over the client's own
connection pool (its TLS settings, proxies, timeouts and pool size), as
:class:`~eoscatalog.store.s3.direct.DirectPut` does for PUTs. The body is read whole (the caller
names a size limit; a larger object is left to the ranged-part path), and a body shorter than
its ``Content-Length`` is a cut stream: the GET is sent again. Retries are decided by the
client's :class:`~eoscatalog.store.s3.retries.RetryPolicy` and failures are raised as botocore's
exceptions (``ClientError`` with the answer's code, the connection errors), so
:meth:`S3Client.errors <eoscatalog.store.s3.client.S3Client.errors>` words them as for every
other request. Checking the bytes is the caller's (``S3Store.download_blob`` hashes them before
anything is written).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from eoscatalog.core.errors import NotFoundError, StoreError
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import OnBytes, staged
from eoscatalog.core.hashing import hash_bytes, parse_hash, verify_hash
from eoscatalog.core.version import __version__
from eoscatalog.store.keys import blob_key
from eoscatalog.store.s3.client import S3Client
from eoscatalog.store.s3.direct import _parsed
from eoscatalog.store.s3.limits import SMALL_GET_LIMIT
from eoscatalog.store.s3.retries import STREAM_CUT

__all__ = ["DirectGet"]

_PROBE_KEY = "eos-direct-probe"
CUT = "the body was cut short"  # how a cut stream's error reads


class DirectGet:
    """``GET`` requests of small objects of one bucket, signed and retried as the client's.

    Made on the store's :class:`~eoscatalog.store.s3.client.S3Client`; what it needs of the
    botocore client (credentials, region, pool, the bucket's URL) is read on the first GET.
    The bucket's base URL (path or virtual-host addressing, as the client resolves it) comes
    from a presigned link, so it matches what the client itself would send. After a redirect
    or a 400 (an AWS bucket in a region the client did not know, which botocore's redirect
    handling settles) :meth:`get` answers None and the caller goes through botocore.
    """

    def __init__(self, s3: S3Client, bucket: str, url: str, key_of: Callable[[str], str], *,
                 limit: int = SMALL_GET_LIMIT) -> None:
        self.limit = limit  # bytes: the largest object :meth:`download_blob` reads whole
        self._key_of = key_of  # the root's prefix added to a checked store key
        self._s3 = s3
        self._bucket = bucket
        self._url = url  # the store's s3:// URL, for messages
        self._lock = threading.Lock()
        self._ready = False
        self.redirected = False  # True once the service redirected a direct GET

    def _prepare(self) -> None:
        with self._lock:
            if self._ready:
                return
            client = self._s3.client
            self._region = client.meta.region_name or "us-east-1"
            self._operation = client.meta.service_model.operation_model("GetObject")
            # botocore keeps its pool on the endpoint (no public accessor): sharing it keeps
            # one set of connections, TLS settings and proxies for every request of the client.
            self._http = client._endpoint.http_session
            link = client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": _PROBE_KEY}, ExpiresIn=60)
            parts = urlsplit(link)
            self._base = f"{parts.scheme}://{parts.netloc}{parts.path[:-len(_PROBE_KEY)]}"
            self._agent = f"eoscatalog/{__version__} {client.meta.config.user_agent or ''}".strip()
            self._ready = True

    def download_blob(self, hash_string: str, dest: str | os.PathLike[str],
                      on_bytes: OnBytes | None = None) -> Path | None:
        """Put blob ``hash_string`` at ``dest`` if it is at most :attr:`limit` bytes: one GET
        read whole, hashed in memory, written to a temp file beside ``dest`` and renamed over
        it only if it matched (nothing is left behind otherwise). None when it was not fetched
        (larger, or redirected): ``dest`` is untouched. Errors are the store's
        (:meth:`S3Client.errors`); a missing blob says so.
        """
        hash_string = parse_hash(hash_string)
        key = blob_key(hash_string)
        try:
            with self._s3.errors(self._url, key):
                data = self.get(self._key_of(key), self.limit)
        except NotFoundError:
            raise NotFoundError(
                f"blob {hash_string} is missing from {self._url}: the catalog names it but "
                "the store lost it; run `eos verify` and upload it again") from None
        if data is None:
            return None
        verify_hash(hash_string, hash_bytes(data), f"blob {hash_string} in {self._url}")
        dest = Path(dest)
        with staged(dest, durable=False) as temp:
            temp.write(data)
            crash_point("get.temp-written")
            temp.replace()
        if on_bytes is not None:
            on_bytes(len(data))
        return dest

    def get(self, key: str, limit: int) -> bytes | None:
        """The whole body of ``key`` (the full key, prefix included), if it is at most
        ``limit`` bytes; None when it is larger, or the service redirected (then every later
        call answers None too): the caller fetches it the other way.

        Raises what the botocore client would: ``ClientError`` for an error answer (404 for a
        missing key) once retries are spent, a connection error when no answer came in
        ``max_attempts`` tries; a StoreError when every answer's body was cut short.
        """
        if self.redirected:
            return None
        if not self._ready:
            self._prepare()
        url = self._base + quote(key, safe="/~")
        retry = self._s3.retry
        attempt = 0
        while True:
            attempt += 1
            caught: Exception | None = None
            response: Any = None
            try:
                response = self._send(url)
            except (BotocoreConnectionError, HTTPClientError) as e:
                caught = e
            parsed = None
            if response is not None and response.status_code < 300:
                try:
                    return self._body(response, limit)
                except HTTPClientError as e:  # a cut stream: retried as a lost answer is
                    caught, response = e, None
            elif response is not None:
                try:
                    parsed = _parsed(response, attempt)  # reads the (small) error body whole
                except STREAM_CUT as e:  # the error answer broke off: a lost answer
                    response.raw.close()
                    caught, response = HTTPClientError(error=e), None
                else:
                    response.raw.release_conn()
                    if response.status_code in (301, 307, 400):
                        self.redirected = True
                        return None
            wait = retry.needs_retry(
                attempts=attempt, operation=self._operation, caught_exception=caught,
                response=None if response is None else (response, parsed),
                request_dict={"context": {}})
            if wait is None or attempt >= retry.max_attempts:
                if caught is not None and CUT in str(caught):
                    raise StoreError(
                        f"the download of {key!r} from {self._s3.where(self._url)} was cut "
                        f"{attempt} times (last: {caught}); nothing was kept. Check your "
                        "network, then retry") from None
                if caught is not None:
                    raise caught
                raise ClientError(parsed, "GetObject")  # type: ignore[arg-type]
            time.sleep(wait)

    def _send(self, url: str) -> Any:
        credentials = self._s3.credentials()
        if credentials is None:
            raise NoCredentialsError()
        request = AWSRequest(method="GET", url=url, headers={"User-Agent": self._agent})
        request.context["client_config"] = None
        S3SigV4Auth(credentials.get_frozen_credentials(), "s3", self._region).add_auth(request)
        prepared = request.prepare()
        prepared.stream_output = True  # the length is checked before the body is read
        return self._http.send(prepared)

    @staticmethod
    def _body(response: Any, limit: int) -> bytes | None:
        """The answer's whole body; None if it is over ``limit`` bytes or of no stated length
        (the connection is dropped unread). A body that ends before its ``Content-Length`` or
        breaks off raises :data:`CUT`, retryable as botocore's connection errors are."""
        raw = response.raw
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        if expected is None or expected > limit:
            raw.close()  # unread bytes: the connection cannot serve another request
            return None
        try:
            data: bytes = raw.read(expected)
        except STREAM_CUT as e:
            raw.close()
            raise HTTPClientError(error=f"{CUT}: {e}") from None
        if len(data) != expected:
            raw.close()
            raise HTTPClientError(error=f"{CUT}: {len(data)} of {expected} bytes")
        raw.release_conn()
        return data

"""Signed requests to one bucket without botocore's per-request machinery:
:class:`BucketRequests`, what :class:`~eoscatalog.store.s3.direct.DirectPut` and
:class:`~eoscatalog.store.s3.direct_get.DirectGet` share.

A botocore API call costs about 1 ms of CPU around the bytes: parameter validation, endpoint
rules, a dozen events, serialising, the user agent, parsing the answer. For a sync of thousands
of 4-64 KiB files that is most of the client's time. :class:`BucketRequests` sends the one
request a small blob needs, signed with SigV4 as botocore's ``S3SigV4Auth`` signs (payload hash
included; by :class:`~eoscatalog.store.s3.signing.SigV4Signer`, which derives the signing key
once a day) with the client's credentials and region, over the client's own connection pool
(:class:`~eoscatalog.store.s3.pooled.PooledSender`: TLS verification, proxies and the pool size
are the client's), to the bucket's base URL as the client resolves it (path or virtual-host
addressing: it is read from a presigned link). Retries are decided by the client's
:class:`~eoscatalog.store.s3.retries.RetryPolicy`, called with what botocore's ``needs-retry``
event would pass it, and failures are raised as the botocore exceptions the client would raise
(``ClientError`` with the answer's code, the connection errors), so
:meth:`S3Client.errors <eoscatalog.store.s3.client.S3Client.errors>` words them as for every
other request.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from eoscatalog.core.version import __version__
from eoscatalog.store.s3.client import S3Client
from eoscatalog.store.s3.pooled import PooledSender
from eoscatalog.store.s3.retries import STREAM_CUT
from eoscatalog.store.s3.signing import SigV4Signer, host_of

__all__ = ["BucketRequests"]

T = TypeVar("T")

_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")
_PROBE_KEY = "eos-direct-probe"


class BucketRequests:
    """Signed, retried requests for the objects of one bucket, as the client would send them.

    Made on the store's :class:`~eoscatalog.store.s3.client.S3Client`; what it needs of the
    botocore client (credentials, region, pool, the bucket's URL, the operation's model for
    the retry policy) is read on the first request. ``operation`` names the botocore
    operation the requests stand for (``PutObject``, ``GetObject``), as retries and errors
    name it.
    """

    def __init__(self, s3: S3Client, bucket: str, operation: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self.operation = operation
        self._lock = threading.Lock()
        self._ready = False

    def _prepare(self) -> None:
        with self._lock:
            if self._ready:
                return
            client = self._s3.client
            self._model = client.meta.service_model.operation_model(self.operation)
            link = client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": _PROBE_KEY}, ExpiresIn=60)
            parts = urlsplit(link)
            self._path = parts.path[:-len(_PROBE_KEY)]
            self._base = f"{parts.scheme}://{parts.netloc}{self._path}"
            self._host = host_of(link)
            self._signer = SigV4Signer(client.meta.region_name or "us-east-1")
            # botocore keeps its pool on the endpoint (no public accessor): sharing it keeps
            # one set of connections, TLS settings and proxies for every request of the client.
            self.sender = PooledSender(client._endpoint.http_session, self._base)
            self._agent = f"eoscatalog/{__version__} {client.meta.config.user_agent or ''}".strip()
            self._ready = True

    def call(self, method: str, key: str, read: Callable[[Any], T], *,
             headers: dict[str, str] | None = None, body: bytes | None = None,
             stream: bool = False, final: Collection[int] = ()) -> T:
        """``read(answer)`` of the first answer under 300 to ``method`` at ``key`` (the full
        key, prefix included), sending the request again as the client's retry policy says.

        ``stream``: the answer's body is left unread for ``read`` (which reads it, then
        ``release_conn``, or closes it); a ``read`` that raises botocore's ``HTTPClientError``
        (a cut body) counts as a lost answer. Error answers are read whole and raised as
        ``ClientError`` once retries are spent, those of a status in ``final`` at once; no
        answer in ``max_attempts`` tries raises the last connection error.
        """
        if not self._ready:
            self._prepare()
        quoted = quote(key, safe="/~")
        url, path = self._base + quoted, self._path + quoted
        retry = self._s3.retry
        attempt = 0
        while True:
            attempt += 1
            caught: Exception | None = None
            response: Any = None
            parsed: dict[str, Any] | None = None
            try:
                response = self.sender.send(
                    self._signed(method, url, path, headers or {}, body, stream), path)
                if response.status_code < 300:
                    return read(response)
            except (BotocoreConnectionError, HTTPClientError) as e:
                caught, response = e, None
            if response is not None:
                try:
                    parsed = _parsed(response, attempt)  # reads the (small) error body whole
                except STREAM_CUT as e:  # the error answer broke off: a lost answer
                    response.raw.close()
                    caught, response = HTTPClientError(error=e), None
                else:
                    if stream:
                        response.raw.release_conn()
                    if response.status_code in final:
                        raise ClientError(parsed, self.operation)  # type: ignore[arg-type]
            wait = retry.needs_retry(
                attempts=attempt, operation=self._model, caught_exception=caught,
                response=None if response is None else (response, parsed),
                request_dict={"context": {}})
            if wait is None or attempt >= retry.max_attempts:
                if caught is not None:
                    raise caught
                raise ClientError(parsed, self.operation)  # type: ignore[arg-type]
            time.sleep(wait)

    def _signed(self, method: str, url: str, path: str, headers: dict[str, str],
                body: bytes | None, stream: bool) -> AWSPreparedRequest:
        credentials = self._s3.credentials()
        if credentials is None:
            raise NoCredentialsError()
        frozen = credentials.get_frozen_credentials()
        # The payload is hashed into the signature (a small body: cheap), as botocore does
        # over plain HTTP; over HTTPS it is then checked end to end as well.
        signed = self._signer.sign(
            method=method, access_key=frozen.access_key, secret_key=frozen.secret_key,
            token=frozen.token, host=self._host, path=path, headers=headers,
            body=body or b"")
        signed["User-Agent"] = self._agent  # botocore never signs it either
        # A plain dict for headers: urllib3 takes any mapping, and botocore's HTTPHeaders (an
        # email.message) costs more to fill than the whole signature.
        return AWSPreparedRequest(method, url, signed,  # type: ignore[arg-type]
                                  body, stream_output=stream, context={})


def _parsed(response: Any, attempt: int) -> dict[str, Any]:
    """An error answer as botocore parses one: ``Error`` (code, message) and metadata."""
    data: bytes = response.content or b""
    code = _CODE.search(data)
    message = _MESSAGE.search(data)
    return {
        "Error": {"Code": code.group(1).decode() if code else str(response.status_code),
                  "Message": message.group(1).decode() if message else ""},
        "ResponseMetadata": {"HTTPStatusCode": response.status_code,
                             "HTTPHeaders": dict(response.headers),
                             "RetryAttempts": attempt - 1},
    }

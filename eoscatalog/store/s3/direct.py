"""Small-object PUTs without botocore's per-request machinery: :class:`DirectPut`.

A botocore API call costs about 1 ms of CPU before and after the bytes move: parameter
validation, endpoint rules, a dozen events, serialising, an ``Expect: 100-continue`` round trip
(botocore turns every ``PutObject`` body into a file, and sends the header for files), and
parsing the answer. For a sync of thousands of 4-64 KiB files that is most of the client's time.
:class:`DirectPut` sends the one request small blobs need, a ``PUT`` with ``If-None-Match: *``,
signed with SigV4 as botocore's ``S3SigV4Auth`` signs (payload hash included; by
:class:`~eoscatalog.store.s3.signing.PutSigner`, which derives the signing key once a day) with
the client's credentials and region, over the client's own connection pool (so TLS verification,
proxies and the pool size are the client's). Retries are decided by the client's
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
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from eoscatalog.core.version import __version__
from eoscatalog.store.s3.client import S3Client
from eoscatalog.store.s3.pooled import PooledSender
from eoscatalog.store.s3.signing import PutSigner, host_of

__all__ = ["DirectPut"]

_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")
_PROBE_KEY = "eos-direct-probe"


class DirectPut:
    """``PUT`` requests of small objects into one bucket, signed and retried as the client's.

    Made on the store's :class:`~eoscatalog.store.s3.client.S3Client`; what it needs of the
    botocore client (credentials, region, pool, the bucket's URL) is read on the first PUT.
    The bucket's base URL (path or virtual-host addressing, as the client resolves it) comes
    from a presigned link, so it matches what the client itself would send. After a redirect
    or a 400 (an AWS bucket in a region the client did not know, which botocore's redirect
    handling settles) every PUT goes through botocore instead.
    """

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._lock = threading.Lock()
        self._ready = False
        self._botocore = False  # True once the service redirected a direct PUT

    def put_if_absent(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key`` (the full key, prefix included) unless something is there.

        Raises what the botocore client would: ``ClientError`` for an error answer (412 when
        the key exists) once retries are spent, a connection error when no answer came in
        ``max_attempts`` tries.
        """
        if not self._botocore:
            try:
                self.put(key, data)
                return
            except ClientError as e:
                if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") not in (
                        301, 307, 400):
                    raise
                self._botocore = True
        self._s3.client.put_object(Bucket=self._bucket, Key=key, Body=data, IfNoneMatch="*")

    def _prepare(self) -> None:
        with self._lock:
            if self._ready:
                return
            client = self._s3.client
            self._region = client.meta.region_name or "us-east-1"
            self._operation = client.meta.service_model.operation_model("PutObject")
            link = client.generate_presigned_url(
                "put_object", Params={"Bucket": self._bucket, "Key": _PROBE_KEY}, ExpiresIn=60)
            parts = urlsplit(link)
            self._base = f"{parts.scheme}://{parts.netloc}{parts.path[:-len(_PROBE_KEY)]}"
            self._host = host_of(link)
            self._path = parts.path[:-len(_PROBE_KEY)]
            self._signer = PutSigner(self._region)
            # botocore keeps its pool on the endpoint (no public accessor): sharing it keeps
            # one set of connections, TLS settings and proxies for every request of the client.
            self._http = PooledSender(client._endpoint.http_session, self._base)
            self._agent = f"eoscatalog/{__version__} {client.meta.config.user_agent or ''}"
            self._ready = True

    def put(self, key: str, data: bytes, *, if_none_match: bool = True) -> str:
        """One direct ``PUT`` of ``data`` at ``key`` (retried); return the ETag."""
        if not self._ready:
            self._prepare()
        quoted = quote(key, safe="/~")
        url, path = self._base + quoted, self._path + quoted
        headers = {"Content-Length": str(len(data))}
        if if_none_match:
            headers["If-None-Match"] = "*"
        retry = self._s3.retry
        attempt = 0
        while True:
            attempt += 1
            caught: Exception | None = None
            response: Any = None
            try:
                response = self._http.send(self._signed(url, path, headers, data), path)
            except (BotocoreConnectionError, HTTPClientError) as e:
                caught = e
            if response is not None and response.status_code < 300:
                return str(response.headers.get("ETag", "")).strip('"')
            parsed = None if response is None else _parsed(response, attempt)
            wait = retry.needs_retry(
                attempts=attempt, operation=self._operation, caught_exception=caught,
                response=None if response is None else (response, parsed),
                request_dict={"context": {}})
            if wait is None or attempt >= retry.max_attempts:
                if caught is not None:
                    raise caught
                raise ClientError(parsed, "PutObject")  # type: ignore[arg-type]
            time.sleep(wait)

    def _signed(self, url: str, path: str, headers: dict[str, str],
                data: bytes) -> AWSPreparedRequest:
        credentials = self._s3.credentials()
        if credentials is None:
            raise NoCredentialsError()
        frozen = credentials.get_frozen_credentials()
        # The payload is hashed into the signature (a small body: cheap), as botocore does
        # over plain HTTP; over HTTPS it is then checked end to end as well.
        signed = self._signer.sign(
            access_key=frozen.access_key, secret_key=frozen.secret_key, token=frozen.token,
            host=self._host, path=path, headers=headers, body=data)
        signed["User-Agent"] = self._agent.strip()  # botocore never signs it either
        # A plain dict for headers: urllib3 takes any mapping, and botocore's HTTPHeaders (an
        # email.message) costs more to fill than the whole signature.
        return AWSPreparedRequest("PUT", url, signed,  # type: ignore[arg-type]
                                  data, stream_output=False, context={})


def _parsed(response: Any, attempt: int) -> dict[str, Any]:
    """An error answer as botocore parses one: ``Error`` (code, message) and metadata."""
    body: bytes = response.content or b""
    code = _CODE.search(body)
    message = _MESSAGE.search(body)
    return {
        "Error": {"Code": code.group(1).decode() if code else str(response.status_code),
                  "Message": message.group(1).decode() if message else ""},
        "ResponseMetadata": {"HTTPStatusCode": response.status_code,
                             "HTTPHeaders": dict(response.headers),
                             "RetryAttempts": attempt - 1},
    }

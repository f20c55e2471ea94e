"""A LIST of one prefix with no botocore: what a command whose only request is the LIST of the
catalog log sends (an unchanged ``eos sync``, ``eos ls``), so that it skips building the
botocore client (about 0.1 s of CPU: the S3 model's JSON, endpoint rules, a dozen handlers)
and botocore's HTTP stack (about 0.1 s of imports).

It is used only where it reproduces exactly what botocore would send: an explicit endpoint
(``endpoint_url``, ``AWS_ENDPOINT_URL``) with path addressing, credentials from the environment
(``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``, which botocore's chain reads first), no
proxy settings, and for HTTPS the CA bundle botocore trusts (certifi's, or ``AWS_CA_BUNDLE``).
The request is ``ListObjectsV2`` with ``encoding-type=url``, signed with SigV4 as botocore signs
it (the empty payload's SHA-256 included). Anything else, and any answer but a 200 with a
listing (an error, a redirect, a connection that fails), returns None: the caller then lists
through botocore, whose retries and error messages apply. A None costs at most one request.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from html import unescape
from urllib.parse import quote, unquote_plus, urlsplit

from eoscatalog.store.s3.signing import SigV4Signer, host_of

__all__ = ["PlainLister", "plain_credentials"]

logger = logging.getLogger(__name__)

_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_CONTENTS = re.compile(rb"<Contents>(.*?)</Contents>", re.S)


def plain_credentials() -> tuple[str, str, str | None] | None:
    """``(key id, secret, session token)`` from the environment, as botocore's first provider
    reads them, or None when they are not both there (botocore then looks elsewhere)."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return None
    token = os.environ.get("AWS_SESSION_TOKEN") or os.environ.get("AWS_SECURITY_TOKEN") or None
    return key, secret, token


def _tag(body: bytes, name: str) -> str | None:
    found = re.search(rb"<" + name.encode() + rb">([^<]*)</" + name.encode() + rb">", body)
    return unescape(found.group(1).decode("utf-8")) if found else None


class PlainLister:
    """ListObjectsV2 of one bucket over ``http.client``, signed with SigV4 (see the module).

    Made by :meth:`for_endpoint`, which returns None where botocore must do the work.
    ``timestamp`` turns a ``LastModified`` into the datetime botocore's parser would give.

    >>> lister = PlainLister("http://127.0.0.1:9000", "us-east-1", ("AKID", "SECRET", None),
    ...                      timeout=(10, 60), timestamp=datetime.fromisoformat)
    >>> lister.authorization("GET", "/b", "list-type=2", "127.0.0.1:9000",
    ...                      datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))[0]
    ... # doctest: +ELLIPSIS
    'AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=...'
    """  # noqa: E501 - a doctest's expected line

    def __init__(self, endpoint_url: str, region: str, credentials: tuple[str, str, str | None],
                 *, timeout: tuple[float, float], timestamp: Callable[[str], datetime]) -> None:
        parts = urlsplit(endpoint_url)
        self.scheme = parts.scheme
        self.netloc = parts.netloc
        self.base_path = parts.path.rstrip("/")
        self.host = host_of(endpoint_url)  # as botocore signs it
        self.region = region
        self._signer = SigV4Signer(region)
        self.credentials = credentials
        self.timeout = timeout
        self.timestamp = timestamp
        self._open: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_endpoint(cls, endpoint_url: str | None, region: str | None, addressing_style: str,
                     *, timeout: tuple[float, float],
                     timestamp: Callable[[str], datetime]) -> PlainLister | None:
        """A lister where one reproduces botocore's request exactly, else None."""
        credentials = plain_credentials()
        if (not endpoint_url or addressing_style != "path" or credentials is None
                or any(os.environ.get(name) for name in _PROXIES)):
            return None
        scheme = urlsplit(endpoint_url).scheme
        if scheme not in ("http", "https"):
            return None
        if scheme == "https" and not os.environ.get("AWS_CA_BUNDLE"):
            try:
                import certifi  # noqa: F401 - botocore's bundle: without it, botocore's own
            except ImportError:
                return None
        # botocore signs for the region given, else AWS_DEFAULT_REGION, else the profile's (not
        # read here: a wrong region is refused, and botocore then lists), else us-east-1.
        region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return cls(endpoint_url, region, credentials, timeout=timeout, timestamp=timestamp)

    def authorization(self, method: str, path: str, query: str, host: str,
                      now: datetime) -> tuple[str, dict[str, str]]:
        """The ``Authorization`` header of a SigV4-signed request with no body, and the other
        headers the signature covers (lowercase names), by the signer direct requests use."""
        key, secret, token = self.credentials
        signed = self._signer.sign(method=method, access_key=key, secret_key=secret, token=token,
                                   host=host, path=path, query=query, headers={}, now=now)
        auth = signed.pop("Authorization")
        return auth, {name.lower(): value for name, value in signed.items()}

    def list(self, bucket: str, prefix: str,
             start_after: str | None = None) -> list[tuple[str, int, str, str]] | None:
        """``(key, size, etag, last modified as ISO 8601)`` of every object under ``prefix``
        (after ``start_after``), as botocore's paginator would give them, or None if the
        service did not answer with a listing (list through botocore then)."""
        with self._lock:  # one connection, kept open for the next LIST (no handshake)
            for kept in (self._open is not None, False):
                try:
                    return list(self._pages(bucket, prefix, start_after))
                except (ConnectionError, http.client.BadStatusLine):
                    self.close()
                    if not kept:  # a kept connection the server closed: once more, anew
                        break
                except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                    self.close()
                    logger.debug("plain LIST of s3://%s/%s failed (%s); botocore lists",
                                 bucket, prefix, e)
                    return None
        return None

    def _pages(self, bucket: str, prefix: str,
               start_after: str | None) -> Iterator[tuple[str, int, str, str]]:
        path = self.base_path + "/" + quote(bucket, safe="/~")
        token: str | None = None
        if self._open is None:
            self._open = self._connection()
        connection = self._open
        while True:
            params = {"list-type": "2", "prefix": prefix, "encoding-type": "url"}
            if start_after is not None:
                params["start-after"] = start_after
            if token is not None:
                params["continuation-token"] = token
            query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                             for k, v in sorted(params.items()))
            auth, headers = self.authorization("GET", path, query, self.host,
                                               datetime.now(timezone.utc))
            connection.request("GET", f"{path}?{query}", headers={
                **{k: v for k, v in headers.items() if k != "host"},
                "Authorization": auth, "Host": self.host})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200 or b"<ListBucketResult" not in body:
                raise ValueError(f"answer {response.status}")
            encoded = _tag(body, "EncodingType") == "url"
            for item in _CONTENTS.findall(body):
                key = _tag(item, "Key")
                if key is None:
                    raise ValueError("an object without a key")
                modified = self.timestamp(_tag(item, "LastModified") or "")
                yield (unquote_plus(key) if encoded else key, int(_tag(item, "Size") or 0),
                       (_tag(item, "ETag") or "").strip('"'), modified.isoformat())
            if _tag(body, "IsTruncated") != "true":
                return
            token = _tag(body, "NextContinuationToken")
            if not token:
                raise ValueError("a truncated listing without a continuation token")

    def close(self) -> None:
        """Close the kept connection, if any."""
        if self._open is not None:
            self._open.close()
            self._open = None

    def _connection(self) -> http.client.HTTPConnection:
        connect, read = self.timeout
        if self.scheme == "http":
            connection = http.client.HTTPConnection(self.netloc, timeout=connect)
        else:
            import ssl

            bundle = os.environ.get("AWS_CA_BUNDLE")
            if not bundle:
                import certifi

                bundle = certifi.where()
            connection = http.client.HTTPSConnection(
                self.netloc, timeout=connect, context=ssl.create_default_context(cafile=bundle))
        connection.connect()
        if connection.sock is not None:  # set by connect(); read_timeout from now on
            connection.sock.settimeout(read)
        return connection

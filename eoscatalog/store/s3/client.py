"""The S3 client: how eoscatalog reaches S3, in one place.

Every S3 request goes through an :class:`S3Client`: the store's
(:class:`~eoscatalog.store.s3.store.S3Store`,
and so the store check of ``eos init``) and those of plain
``s3://`` sources (:mod:`eoscatalog.transfer.external`).
It holds the botocore session and client, the
client's configuration (timeouts, connection pool, addressing style, SigV4, checksums only when
required), the retry policy (:mod:`~eoscatalog.store.s3.retries`), the endpoint from the
environment, and the translation of botocore's errors into the eoscatalog tree. Making one
installs the credential redaction (:mod:`eoscatalog.store.s3.redaction`)
first, so no request it sends
is logged unmasked.

botocore is imported only when a client is made, as fsspec loads a protocol's library on first
use: importing this module (``config.py`` does, for the defaults) loads none of it, so
``import eoscatalog``, ``eos --version`` and commands on a local store skip its 0.1 s of imports.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from eoscatalog.core.errors import NotFoundError, PreconditionFailedError, StoreError
from eoscatalog.store.object_info import ObjectInfo
from eoscatalog.store.s3.limits import BACKOFF, MAX_ATTEMPTS, READ_TIMEOUT
from eoscatalog.store.s3.plain_list import PlainLister
from eoscatalog.store.s3.redaction import install_redaction

if TYPE_CHECKING:
    from eoscatalog.store.s3.retries import RetryPolicy

__all__ = ["BACKOFF", "MAX_ATTEMPTS", "READ_TIMEOUT", "S3Client", "endpoint_from_env"]

CONNECT_TIMEOUT = 10
MAX_POOL_CONNECTIONS = 16

# S3's "already exists or changed" codes (412, and 409 while a conditional write is in flight).
PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict"}
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}


def endpoint_from_env() -> str | None:
    """The S3 endpoint named by ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``, if any."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _timestamp(value: Any) -> datetime:
    """A timestamp of an S3 answer: ISO 8601 (XML bodies) or RFC 7231 (headers), else as
    botocore parses it.

    >>> _timestamp("Sat, 05 Dec 2026 17:11:55 GMT") == _timestamp("2026-12-05T17:11:55.000Z")
    True
    """
    try:
        parsed = (datetime.fromisoformat(value) if value[:1].isdigit()
                  else email.utils.parsedate_to_datetime(value))
        if parsed.tzinfo is not None:
            return parsed
    except (TypeError, ValueError, IndexError):
        pass
    from botocore.utils import parse_timestamp

    default: datetime = parse_timestamp(value)
    return default


class S3Client:
    """A botocore S3 client with eoscatalog's configuration, retry policy and error messages.

    The botocore client is built on first need (the S3 model takes about 0.1 s to load), on a
    thread once :meth:`start` is called; :attr:`client` waits for it. A LIST made before then
    may go without it (:meth:`plain_list`). ``endpoint_url`` defaults to the environment's
    (:func:`endpoint_from_env`), credentials come from the standard AWS chain.

    >>> S3Client(endpoint_url="http://127.0.0.1:9000", max_attempts=2).where("s3://b/org")
    's3://b/org at http://127.0.0.1:9000'
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = BACKOFF,
        read_timeout: float = READ_TIMEOUT,
        max_pool_connections: int = MAX_POOL_CONNECTIONS,
        addressing_style: str | None = None,
    ) -> None:
        install_redaction()  # botocore logs signed requests at DEBUG: mask credentials
        if not isinstance(max_attempts, int) or max_attempts < 1:  # as RetryPolicy says, now
            raise StoreError(f"max_attempts must be a whole number of at least 1, not "
                             f"{max_attempts!r}")
        self.endpoint_url = endpoint_url or endpoint_from_env()
        self.max_attempts = max_attempts
        self.addressing_style = addressing_style or ("path" if self.endpoint_url else "auto")
        self._options = (region, backoff, read_timeout, max_pool_connections)
        self._retry: RetryPolicy | None = None
        self._session: Any = None
        self._client: Any = None
        self._failed: BaseException | None = None
        self._ready = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()
        self._plain: PlainLister | bool | None = False  # False: not looked at yet

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of every request (imports botocore's retry module on first use)."""
        if self._retry is None:
            from eoscatalog.store.s3.retries import RetryPolicy

            with self._start_lock:  # one policy: the one the client is given is the one used
                if self._retry is None:
                    self._retry = RetryPolicy(self.max_attempts, self._options[1])
        return self._retry

    @property
    def started(self) -> bool:
        """True once the botocore client is being built (or is)."""
        return self._started

    def start(self) -> None:
        """Build the botocore client on a thread, if not yet begun: callers that will need it
        start it early to overlap its 0.1 s with their own work. Nothing builds it until a
        request needs botocore, so a command whose one request is a plain LIST
        (:meth:`plain_list`) never does."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._build, daemon=True, name="eos-s3-client").start()

    def plain_list(self, bucket: str, root: str, prefix: str,
                   start_after: str | None = None) -> list[ObjectInfo] | None:
        """The objects under ``root + prefix`` (keys less ``root``) listed without botocore,
        while no botocore client was needed yet and the settings allow it
        (:mod:`~eoscatalog.store.s3.plain_list`); None: list through botocore."""
        if self._started:
            return None
        if self._plain is False:
            self._plain = PlainLister.for_endpoint(
                self.endpoint_url, self._options[0], self.addressing_style,
                timeout=(CONNECT_TIMEOUT, self._options[2]), timestamp=_timestamp)
        if not isinstance(self._plain, PlainLister):
            return None
        found = self._plain.list(bucket, root + prefix,
                                 None if start_after is None else root + start_after)
        if found is None:
            self._plain = None  # botocore from now on
            return None
        return [ObjectInfo(key[len(root):], size, etag, modified)
                for key, size, etag, modified in found]

    def _config(self) -> Any:
        from botocore.config import Config

        _, _, read_timeout, max_pool_connections = self._options
        return Config(
            # total_max_attempts counts the first try (botocore's max_attempts counts retries);
            # RetryPolicy replaces the handler, this keeps the same budget if it could not.
            retries={"total_max_attempts": self.max_attempts, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=read_timeout,
            # We verify every byte with BLAKE3; extra CRCs only break third-party S3 services.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # the stubs want a Literal; the option is a plain str, checked there
            s3=cast(Any, {"addressing_style": self.addressing_style}),
            signature_version="s3v4",  # presigned links too: SigV2 is deprecated
        )

    def _build(self) -> None:
        try:
            import botocore.session  # on a thread: its 0.05 s of imports overlap the caller's

            self._session = botocore.session.get_session()
            # dateutil's parser is a tenth of a small GET's CPU; S3's two forms parse natively.
            self._session.get_component("response_parser_factory").set_parser_defaults(
                timestamp_parser=_timestamp)
            # botocore, not boto3 (0.2 s of imports, s3transfer's).
            client = self._session.create_client(
                "s3", endpoint_url=self.endpoint_url, region_name=self._options[0],
                config=self._config())
            self.retry.install(client)
            self._client = client
        except BaseException as e:  # raised where the client is first used
            self._failed = e
        finally:
            self._ready.set()

    @property
    def client(self) -> Any:
        """The botocore S3 client (built on first need; waits for it)."""
        self.start()
        if self._client is None and self._ready.wait() and self._failed:
            raise self._failed
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self.start()
        self._ready.wait()  # the one being built must not land over this one
        self._client = value

    @property
    def region(self) -> str | None:
        """The region the client signs for (the configured one, else botocore's default)."""
        region: str | None = self.client.meta.region_name
        return region

    def credentials_expire_at(self) -> datetime | None:
        """When temporary credentials (a role, SSO, a session token) expire, if known."""
        self.start()
        self._ready.wait()
        credentials = self._session.get_credentials() if self._session else None
        expiry = getattr(credentials, "_expiry_time", None)
        return expiry if isinstance(expiry, datetime) else None

    def credentials(self) -> Any:
        """The session's botocore credentials (refreshed as they expire), or None."""
        self.start()
        self._ready.wait()
        return self._session.get_credentials() if self._session else None

    def where(self, url: str) -> str:
        """``url`` and the endpoint, for messages."""
        return f"{url} at {self.endpoint_url}" if self.endpoint_url else url

    @contextlib.contextmanager
    def errors(self, url: str, key: str = "") -> Iterator[None]:
        """Translate botocore's exceptions into the eoscatalog tree, in one place.

        ``url`` is the ``s3://bucket[/prefix]`` the request is for, ``key`` the object (as the
        messages should name it).
        """
        # Loaded already (a client is being made with them): a lookup in sys.modules.
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            ConnectTimeoutError,
            HTTPClientError,
            IncompleteReadError,
            NoCredentialsError,
        )

        try:
            yield
        except ClientError as e:
            error = e.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                bucket = url[len("s3://"):].split("/", 1)[0]
                raise StoreError(
                    f"bucket {bucket!r} does not exist ({self.where(url)}): create it or fix "
                    "the store URL (EOS_STORE, or `eos init --store`)"
                ) from None
            if code in _NOT_FOUND or status == 404:
                raise NotFoundError(f"no object {key!r} in {url}") from None
            if code in PRECONDITION or status in (409, 412):
                raise PreconditionFailedError(
                    f"object {key!r} in {url} already exists or changed ({code})"
                ) from None
            if code in _CREDENTIALS:
                raise StoreError(
                    f"S3 rejected the credentials for {self.where(url)} ({code}): check "
                    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or your AWS profile"
                ) from None
            if code == "AccessDenied" or status == 403:
                raise StoreError(
                    f"access denied to {key or 'the store'} in {self.where(url)}: your "
                    "credentials lack permission for this bucket or prefix"
                ) from None
            message = error.get("Message", "")
            tries = e.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
            raise StoreError(
                f"S3 request failed for {key!r} in {self.where(url)}: {code} {message}"
                + (f" (tried {tries} times)" if tries > 1 else "")
            ) from None
        except NoCredentialsError:
            raise StoreError(
                f"no AWS credentials found for {self.where(url)}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run on a machine with an instance role"
            ) from None
        except ConnectionError as e:
            # botocore's own text is the full request URL with its query: it names no more
            # than the endpoint does, and buries it.
            how = "timed out connecting" if isinstance(e, ConnectTimeoutError) else "no answer"
            times = "once" if self.max_attempts == 1 else f"{self.max_attempts} times"
            raise StoreError(
                f"cannot reach S3 at {self.endpoint_url or 'AWS'} for {url} ({how}, tried "
                f"{times}): check the endpoint (endpoint_url, AWS_ENDPOINT_URL) "
                "and your network; EOS_OFFLINE=1 reads pinned versions this machine already has"
            ) from None
        except (HTTPClientError, IncompleteReadError) as e:
            raise StoreError(
                f"S3 at {self.endpoint_url or 'AWS'} did not answer the request for {key!r} in "
                f"{url}: {e} (tried {self.max_attempts} times). Check your network, then retry"
            ) from None
        except BotoCoreError as e:
            raise StoreError(f"S3 request for {key!r} in {self.where(url)} failed: {e}") from None

    def close(self) -> None:
        """Close the client's connections (none if it was never built)."""
        if isinstance(self._plain, PlainLister):
            self._plain.close()
        if self._started:
            self.client.close()

"""Which failed S3 requests are tried again: :class:`RetryPolicy` (the budget's defaults,
``MAX_ATTEMPTS``, ``BACKOFF`` and ``READ_TIMEOUT``, are in :mod:`~eoscatalog.store.s3.limits`,
which can be imported without botocore).

Every request is tried at most ``max_attempts`` times in all (default 4), with exponential
backoff and full jitter, when it failed in a way that may pass: 500, 502, 503, 504, throttling
(503 SlowDown), a 409 ConditionalRequestConflict or OperationAborted (a conflicting conditional
write was in flight), a connection that could not be made, was reset or timed out
(``read_timeout``). Nothing else is retried: 403, 404, 412 are answers. A download whose stream
is cut goes on with a ranged GET from the next byte (pinned to the first answer's ETag), at most
``max_attempts`` streams per object (``downloader.py``). What is still failing after that is
raised as StoreError; blobs are hashed while they stream and renamed into place only when
complete (``Store.download_blob``), and a failed multipart upload is aborted.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from botocore.exceptions import ConnectionError, HTTPClientError, IncompleteReadError
from botocore.retries.standard import (
    RetryEventAdapter,
    StandardRetryConditions,
    ThrottledRetryableChecker,
)
from urllib3.exceptions import HTTPError as URLLib3Error

from eoscatalog.core.errors import StoreError
from eoscatalog.store.s3.limits import BACKOFF, MAX_ATTEMPTS

__all__ = ["RetryPolicy"]

logger = logging.getLogger(__name__)

MAX_BACKOFF = 20.0
THROTTLED_BACKOFF = 10  # throttling (SlowDown) backs off this many times longer

# 409s that mean "a conflicting write is in flight, try again" (not BucketNotEmpty and the like).
RETRYABLE_CONFLICTS = {"ConditionalRequestConflict", "OperationAborted"}
# How a GetObject stream breaks mid-body: reset, closed early, timed out.
STREAM_CUT = (HTTPClientError, IncompleteReadError, URLLib3Error, ConnectionError)


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
                and context.get_error_code() in RETRYABLE_CONFLICTS)

"""The S3 request budget's defaults, in a module of their own with no imports: the client
(:mod:`~eoscatalog.store.s3.client`), its retry policy (:mod:`~eoscatalog.store.s3.retries`) and
the settings (``config.py``) all read them, and none of them needs botocore to.

>>> MAX_ATTEMPTS
4
"""

from __future__ import annotations

__all__ = ["BACKOFF", "MAX_ATTEMPTS", "READ_TIMEOUT"]

MAX_ATTEMPTS = 4  # tries of each request, the first included
READ_TIMEOUT = 60.0  # seconds a silent connection is waited on
BACKOFF = 0.1  # seconds: the first retry waits up to this, each next one up to twice as long

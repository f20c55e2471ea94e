"""The S3 request budget's defaults, in a module of their own with no imports: the client
(:mod:`~eoscatalog.store.s3.client`), its retry policy (:mod:`~eoscatalog.store.s3.retries`) and
the settings (``config.py``) all read them, and none of them needs botocore to. The sizes of
transfers too: the store's, its downloader's and its uploader's defaults.

>>> MAX_ATTEMPTS
4
"""

from __future__ import annotations

__all__ = ["BACKOFF", "MAX_ATTEMPTS", "MAX_CONCURRENCY", "MAX_PART_SIZE", "MIN_PART_SIZE",
           "MULTIPART_THRESHOLD", "PART_SIZE", "READ_TIMEOUT", "RESUME_DAYS", "SMALL_GET_LIMIT"]

MAX_ATTEMPTS = 4  # tries of each request, the first included
READ_TIMEOUT = 60.0  # seconds a silent connection is waited on
BACKOFF = 0.1  # seconds: the first retry waits up to this, each next one up to twice as long

MULTIPART_THRESHOLD = 16 * 1024 * 1024  # bytes: larger blobs go up as multipart uploads
PART_SIZE = 8 * 1024 * 1024  # bytes per part of an upload, per ranged GET of a download
SMALL_GET_LIMIT = 1024 * 1024  # bytes: smaller blobs come down as one GET read whole
MAX_CONCURRENCY = 8  # parts in flight at once
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (all but the last)
MAX_PART_SIZE = 5 * 1024 * 1024 * 1024  # and its largest
RESUME_DAYS = 7  # an unfinished multipart upload is kept this long for a rerun to resume it

"""Credentials never reach the logs: the values botocore and its kin log at DEBUG, masked.

At DEBUG level botocore logs every request it signs: the headers (``Authorization``, whose
value holds the access key id and the signature, and ``X-Amz-Security-Token``), the canonical
request, the signature, and, for a presigned link, the link's query (``X-Amz-Credential``,
``X-Amz-Signature``): enough to replay a request or use a link that was never handed out.
:func:`install_redaction` (called by every :class:`~eoscatalog.store.s3.client.S3Client` before
its client is built, so before eos sends any S3 request, and when
:mod:`eoscatalog.store.s3.store` is
imported) wraps the log record factory so that records of the loggers in :data:`LOGGERS` carry
``***`` instead of those values, whatever handlers and levels the application configured. The
secret access key itself is never logged by botocore; credentials in response bodies (STS, SSO)
are masked too.

>>> redact("headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=0a1b'}")
"headers={'Authorization': b'***'}"
>>> redact("GET /b/k?X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=0a1b2c HTTP/1.1")
'GET /b/k?X-Amz-Credential=***&X-Amz-Signature=*** HTTP/1.1'
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = ["LOGGERS", "MASK", "install_redaction", "redact"]

MASK = "***"
# The libraries that sign or send S3 requests (s3fs and aiobotocore for fsspec readers), and ours.
LOGGERS = ("botocore", "boto3", "aiobotocore", "s3transfer", "s3fs", "urllib3", "eoscatalog")

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # 'Authorization': b'AWS4-HMAC-SHA256 Credential=..., Signature=...' (any quoting)
    (re.compile(r"""(?i)(authorization['"]?\s*[:=]\s*b?)(['"])(?:(?!\2).)*\2"""), r"\1\2***\2"),
    # Authorization: AWS4-HMAC-SHA256 ... (a header line, unquoted)
    (re.compile(r"(?im)(\bauthorization:[ \t]*)(?![ \t]|\*\*\*)[^\r\n]+"), r"\1***"),
    # the session token: as a header (dict or canonical request) or a query parameter
    (re.compile(r"""(?i)(x-amz-security-token['"]?\s*[:=]\s*b?['"]?)(?!\*\*\*)[^\s'"&,}]+"""),
     r"\1***"),
    # presigned query parameters, and the parts of an Authorization value logged alone
    (re.compile(r"""(?i)\b((?:x-amz-)?(?:signature|credential))(=|%3D)(?!\*\*\*)[^\s'"&,]+"""),
     r"\1\2***"),
    # botocore.auth's "Signature:\n<hex>"
    (re.compile(r"(?i)(\bsignature:\s*)[0-9a-f]{64}\b"), r"\1***"),
    # credentials in response bodies (STS XML; SSO, container and process JSON) and dumps
    (re.compile(r"(?i)(<(SecretAccessKey|SessionToken)>)[^<]*(</\2>)"), r"\1***\3"),
    (re.compile(r"""(?i)(["']?\b(?:aws_)?(?:secret_?access_?key|session_?token)["']?\s*[:=]\s*"""
                r"""b?["']?)(?!\*\*\*)[^\s"',}]+"""), r"\1***"),
]

_installed = False
_install_lock = threading.Lock()


def redact(text: str) -> str:
    """``text`` with every credential value this module knows the shape of replaced by ``***``.

    >>> redact("x-amz-security-token:IQoJb3JpZ2luX2VjE+/=\\nhost:s3.amazonaws.com")
    'x-amz-security-token:***\\nhost:s3.amazonaws.com'
    >>> redact('{"secretAccessKey": "abc/def", "expiration": 1}')
    '{"secretAccessKey": "***", "expiration": 1}'
    """
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _ours(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in LOGGERS)


def _redact_record(record: logging.LogRecord) -> None:
    """Mask the record's message, traceback and stack in place (formatted now if it must)."""
    try:
        message = record.getMessage()
    except Exception:
        return  # a broken format string: leave it for logging to report, as it would
    masked = redact(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_redaction() -> None:
    """Mask credentials in every record the :data:`LOGGERS` make from now on (once per process).

    The current record factory is wrapped, not replaced, so factories installed before keep
    working; one installed later without wrapping ours would switch masking off.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _ours(record.name):
                _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True

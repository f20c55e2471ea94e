"""AWS Signature Version 4 for the small ``PUT`` requests of :class:`~eoscatalog.store.s3.direct.
DirectPut`: :class:`PutSigner`.

botocore's ``S3SigV4Auth`` costs about half a millisecond of CPU per request: it copies the
headers into case-insensitive maps twice, re-parses the URL for the host, and derives the
signing key (four HMACs) anew for every request. A sync of thousands of small files signs
thousands of requests that differ only in path, body and second, so this signer computes the
same signature (the tests compare it with botocore's, header for header) from plain strings,
and derives the signing key once per day, region and secret.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import datetime, timezone
from urllib.parse import urlsplit

__all__ = ["PutSigner", "host_of"]

_ALGORITHM = "AWS4-HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_of(url: str) -> str:
    """The ``Host`` value botocore signs for ``url``: lowercase, the default port left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


class PutSigner:
    """Signs ``PUT`` requests for one region and service, as botocore's ``S3SigV4Auth`` would.

    The payload's SHA-256 is signed (``x-amz-content-sha256``), and every header given is
    signed, as botocore signs every header but a few (``User-Agent`` among them, which is
    therefore added by the caller after signing).
    """

    def __init__(self, region: str, service: str = "s3") -> None:
        self.region = region
        self.service = service
        self._keys: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def signing_key(self, secret_key: str, day: str) -> bytes:
        """The key for ``day`` (``YYYYMMDD``): four HMACs, computed once per day and secret."""
        with self._lock:
            key = self._keys.get((secret_key, day))
        if key is None:
            key = ("AWS4" + secret_key).encode()
            for part in (day, self.region, self.service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            with self._lock:
                if len(self._keys) > 8:  # old days and rotated secrets
                    self._keys.clear()
                self._keys[(secret_key, day)] = key
        return key

    def sign(self, *, access_key: str, secret_key: str, token: str | None, host: str,
             path: str, headers: dict[str, str], body: bytes,
             now: datetime | None = None) -> dict[str, str]:
        """``headers`` plus ``Host``, ``X-Amz-Date``, ``X-Amz-Content-SHA256``, the session
        token if any, and ``Authorization``: a ``PUT`` of ``body`` at ``path`` (already
        percent-encoded, as sent) with no query string."""
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        signed = dict(headers)
        signed["Host"] = host
        signed["X-Amz-Date"] = stamp
        signed["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        if token:
            signed["X-Amz-Security-Token"] = token
        canonical = sorted((name.lower(), " ".join(value.split()))
                           for name, value in signed.items())
        names = ";".join(name for name, _ in canonical)
        request = "\n".join([
            "PUT", path, "",
            *(f"{name}:{value}" for name, value in canonical), "",
            names, signed["X-Amz-Content-SHA256"],
        ])
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = "\n".join([_ALGORITHM, stamp, scope,
                             hashlib.sha256(request.encode()).hexdigest()])
        signature = hmac.new(self.signing_key(secret_key, day), to_sign.encode(),
                             hashlib.sha256).hexdigest()
        signed["Authorization"] = (f"{_ALGORITHM} Credential={access_key}/{scope}, "
                                   f"SignedHeaders={names}, Signature={signature}")
        return signed

"""Small-object PUTs without botocore's per-request machinery: :class:`DirectPut`.

A botocore ``PutObject`` call costs about 1 ms of CPU before and after the bytes move, and an
``Expect: 100-continue`` round trip (botocore turns every ``PutObject`` body into a file, and
sends the header for files). :class:`DirectPut` sends the one request small blobs need, a
``PUT`` with ``If-None-Match: *``, through
:class:`~eoscatalog.store.s3.direct_bucket.BucketRequests` (signed with SigV4 as botocore signs,
over the client's own connection pool, retried by the client's retry policy, failures raised as
the botocore exceptions the client would raise, so
:meth:`S3Client.errors <eoscatalog.store.s3.client.S3Client.errors>` words them as for every
other request).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from eoscatalog.store.s3.client import S3Client
from eoscatalog.store.s3.direct_bucket import BucketRequests

__all__ = ["DirectPut"]


class DirectPut:
    """``PUT`` requests of small objects into one bucket, signed and retried as the client's.

    Made on the store's :class:`~eoscatalog.store.s3.client.S3Client`; what it needs of the
    botocore client is read on the first PUT. After a redirect or a 400 (an AWS bucket in a
    region the client did not know, which botocore's redirect handling settles) every PUT goes
    through botocore instead.
    """

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self.requests = BucketRequests(s3, bucket, "PutObject")
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

    def put(self, key: str, data: bytes, *, if_none_match: bool = True) -> str:
        """One direct ``PUT`` of ``data`` at ``key`` (retried); return the ETag."""
        headers = {"Content-Length": str(len(data))}
        if if_none_match:
            headers["If-None-Match"] = "*"
        return self.requests.call("PUT", key, _etag, headers=headers, body=data)


def _etag(response: Any) -> str:
    return str(response.headers.get("ETag", "")).strip('"')

"""Sending :class:`~eoscatalog.store.s3.direct.DirectPut`'s requests straight to the bucket
host's connection pool: :class:`PooledSender`.

botocore's ``URLLib3Session.send`` works out again, for every request, what is the same for
all of a sync's PUTs: the proxy for the URL (from the environment), the pool for its host (the
URL parsed and percent-encoded once more) and its TLS settings; then it wraps the answer. For a
4 KiB PUT that is a fifth of the client's CPU. :class:`PooledSender` asks the session once,
keeps the pool, and sends on it with the arguments botocore passes, raising the exceptions
botocore would raise for the same failures (so retries and messages stay the client's). When a
proxy is configured, or the session lacks what it needs (another botocore), every request goes
through ``send`` as before.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import ClosedPoolError, NewConnectionError, ProtocolError
from urllib3.exceptions import ConnectTimeoutError as URLLib3ConnectTimeoutError
from urllib3.exceptions import ReadTimeoutError as URLLib3ReadTimeoutError
from urllib3.exceptions import SSLError as URLLib3SSLError
from urllib3.util.retry import Retry

__all__ = ["PooledSender"]

_NO_RETRIES = Retry(False)  # urllib3 never changes a Retry in place: one serves every request


class PooledSender:
    """Sends requests for ``base_url``'s host on the pool botocore's ``session`` keeps for it.

    ``send(request, target)``: ``target`` is the request's path (percent-encoded, as sent).
    """

    def __init__(self, session: Any, base_url: str) -> None:
        self._session = session
        self._base = base_url
        self._lock = threading.Lock()
        self._pool: Any = None
        try:
            self.direct = session._proxy_config.proxy_url_for(base_url) is None
            self._connect()
        except AttributeError:  # a botocore whose session is made otherwise: use it as is
            self.direct = False

    def _connect(self) -> Any:
        with self._lock:
            if self._pool is None:
                session = self._session
                manager = session._get_connection_manager(self._base, None)
                pool = manager.connection_from_url(self._base)
                session._setup_ssl_cert(pool, self._base, session._verify)
                self._pool = pool
            return self._pool

    def send(self, request: AWSPreparedRequest, target: str) -> AWSResponse:
        """``request``'s answer, read whole; failures raised as botocore's session raises
        them."""
        if not self.direct:
            return self._session.send(request)  # type: ignore[no-any-return]
        url = request.url
        try:
            try:
                raw = self._send(self._pool or self._connect(), request, target)
            except ClosedPoolError:  # the manager dropped the pool (too many hosts): a new one
                with self._lock:
                    self._pool = None
                raw = self._send(self._connect(), request, target)
            response = AWSResponse(url, raw.status, raw.headers, raw)
            response.content  # noqa: B018  (read whole, as botocore does: the connection returns)
        except URLLib3SSLError as e:
            raise SSLError(endpoint_url=url, error=e) from None
        except (NewConnectionError, socket.gaierror) as e:
            raise EndpointConnectionError(endpoint_url=url, error=e) from None
        except URLLib3ConnectTimeoutError as e:
            raise ConnectTimeoutError(endpoint_url=url, error=e) from None
        except URLLib3ReadTimeoutError as e:
            raise ReadTimeoutError(endpoint_url=url, error=e) from None
        except ProtocolError as e:
            raise ConnectionClosedError(error=e, request=request, endpoint_url=url) from None
        except Exception as e:
            raise HTTPClientError(error=e) from None
        return response

    @staticmethod
    def _send(pool: Any, request: AWSPreparedRequest, target: str) -> Any:
        # The arguments botocore's URLLib3Session.send passes.
        return pool.urlopen(
            method=request.method, url=target, body=request.body, headers=request.headers,
            retries=_NO_RETRIES, assert_same_host=False, preload_content=False,
            decode_content=False, chunked=False, enforce_content_length=False)

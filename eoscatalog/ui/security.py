"""The server's guards, one ASGI middleware around the whole app (docs/ui.md, Security).

- An access token, when the server is bound beyond loopback or behind a proxy:
  ``?token=<t>`` (answered with an HttpOnly, SameSite=Strict cookie ``eos_ui_token_<port>``
  and a relative redirect to the same URL without it), the cookie, or ``Authorization: token
  <t>`` (which jupyter-server-proxy adds to every request it forwards); anything else is
  refused (403).
- Writes (POST, PUT, PATCH, DELETE) carry the header ``X-EOS-CSRF`` with the value ``api/info``
  gives (a page of another site cannot read it, nor send the header without a CORS preflight,
  which this server never grants) and, when the browser sends an ``Origin``, this server's own.
- Without a token (loopback), the ``Host`` header must name this machine (``127.0.0.1``,
  ``localhost``, ``::1``): a site whose name an attacker points at 127.0.0.1 (DNS rebinding)
  gets a 403, not the catalog. With a token any Host is served (``hosts`` None): a rebound
  page has no token.
- Every answer carries a strict Content-Security-Policy (scripts and styles from this server
  only), ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["COOKIE", "CSRF_HEADER", "LOOPBACK_NAMES", "SECURITY_HEADERS", "Guard", "cookie_name",
           "host_name"]

COOKIE = "eos_ui_token"
CSRF_HEADER = "x-eos-csrf"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
     b"object-src 'none'; base-uri 'none'; frame-ancestors 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def host_name(host: str) -> str:
    """The name in a ``Host`` header, without its port, lower case.

    >>> host_name("127.0.0.1:8765"), host_name("[::1]:80"), host_name("LocalHost")
    ('127.0.0.1', '::1', 'localhost')
    """
    if host.startswith("["):
        return host[1:].split("]", 1)[0].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()


def cookie_name(scope: Scope) -> str:
    """The token's cookie for the port this server listens on (``eos_ui_token_8765``): a
    browser sends one host's cookies to all its ports, and two servers must not overwrite
    each other's."""
    server = scope.get("server") or (None, None)
    return f"{COOKIE}_{server[1]}" if server[1] else COOKIE


def _refused(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=403)


class Guard:
    """Checks the token and the CSRF header, and adds the security headers to every answer.

    ``token``: None when the server is bound to loopback only (no token asked for).
    ``csrf``: the value writes must carry in ``X-EOS-CSRF``. ``hosts``: the host names the
    ``Host`` header may give (None: any).
    """

    def __init__(self, app: ASGIApp, *, token: str | None, csrf: str,
                 hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.token = token
        self.csrf = csrf
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in SECURITY_HEADERS if h[0] not in names)]
            await send(message)

        refusal = self.check(scope)
        if refusal is not None:
            await refusal(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)

    def check(self, scope: Scope) -> Response | None:
        """The answer refusing (or redirecting) this request, or None to let it through."""
        headers = Headers(scope=scope)
        if self.hosts is not None and host_name(headers.get("host", "")) not in self.hosts:
            return _refused("this eos ui server answers only at its own address (such as "
                            "http://127.0.0.1:<port>/): open the URL eos ui printed")
        if self.token is not None:
            answer = self._check_token(scope, headers)
            if answer is not None:
                return answer
        if scope["method"] in WRITES:
            return self._check_write(scope, headers)
        return None

    def _check_token(self, scope: Scope, headers: Headers) -> Response | None:
        token = self.token or ""
        # The cookie or the header first: behind jupyter-server-proxy the header carries this
        # server's token while the URL may carry Jupyter's own ?token=, forwarded as it is.
        if self._holds_token(scope, headers, token):
            return None
        params = QueryParams(scope.get("query_string", b""))
        given = params.get("token")
        if given is None:
            return _refused("this eos ui server needs its access token: open the URL with "
                            "?token=... that eos ui printed")
        if not secrets.compare_digest(given.encode(), token.encode()):
            return _refused("wrong token in the URL: open the URL eos ui printed")
        rest = [(k, v) for k, v in params.multi_items() if k != "token"]
        # Relative (the last path segment, or ./): behind a proxy that serves this server
        # under a path of its own (/user/ada/proxy/8765/), "/" would leave it.
        target = scope["path"].rsplit("/", 1)[-1] or "./"
        answer = RedirectResponse(target + ("?" + urlencode(rest) if rest else ""),
                                  status_code=303)
        # No Path: the browser scopes the cookie to the folder of the URL it opened.
        answer.set_cookie(cookie_name(scope), token, httponly=True, samesite="strict",
                          path=None)
        return answer

    @staticmethod
    def _holds_token(scope: Scope, headers: Headers, token: str) -> bool:
        """Whether the request's cookie or ``Authorization: token`` header gives ``token``."""
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token
            cookie = SimpleCookie()
        name = cookie_name(scope)
        candidates = [cookie[name].value] if name in cookie else []
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "token":
            candidates.append(value.strip())
        return any(secrets.compare_digest(c.encode(), token.encode()) for c in candidates)

    def _check_write(self, scope: Scope, headers: Headers) -> Response | None:
        if not secrets.compare_digest(headers.get(CSRF_HEADER, "").encode(),
                                      self.csrf.encode()):
            return _refused("a write needs the X-EOS-CSRF header with the csrf value of "
                            "api/info (a page of another site cannot send it): reload the page")
        origin = headers.get("origin")
        if origin is not None and origin not in self._own_origins(scope, headers):
            return _refused(f"a write from the page of another site ({origin}) is refused: "
                            "use the eos ui page itself")
        return None

    @staticmethod
    def _own_origins(scope: Scope, headers: Headers) -> set[str]:
        """This server's origins as the browser sees it: its scheme and Host, and those a
        proxy in front of it (JupyterHub's) forwarded."""
        schemes = {scope.get("scheme", "http"), *headers.getlist("x-forwarded-proto")}
        hosts = {headers.get("host", ""), *headers.getlist("x-forwarded-host")}
        return {f"{s}://{h}" for s in schemes for h in hosts if h}

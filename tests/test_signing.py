"""``PutSigner`` signs a ``PUT`` exactly as botocore's ``S3SigV4Auth`` does (the same
``Authorization``, header for header), for any path, body, region, session token and time, and
derives its signing key once per day."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from eoscatalog.store.s3.signing import PutSigner, host_of

WHEN = datetime(2026, 12, 6, 1, 2, 3, tzinfo=timezone.utc)


def _botocore(monkeypatch: pytest.MonkeyPatch, url: str, headers: dict[str, str], body: bytes,
              region: str, token: str | None) -> dict[str, str]:
    monkeypatch.setattr(botocore_auth, "get_current_datetime",
                        lambda: WHEN.replace(tzinfo=None))
    request = AWSRequest(method="PUT", url=url, data=body, headers=dict(headers))
    request.context["client_config"] = None
    botocore_auth.S3SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key+x", token), "s3",
                              region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(("url", "region", "token", "body"), [
    ("http://127.0.0.1:8333/bucket/org/blobs/blake3/ab/abcdef", "us-east-1", None, b"x" * 9),
    ("https://bucket.s3.eu-west-3.amazonaws.com/a%20b%2Bc/blobs/k", "eu-west-3", "tok/en=",
     b""),
    ("https://s3.example.org:443/b/%C3%A9t%C3%A9/~x", "auto", None, bytes(range(256)) * 64),
    ("http://[::1]:9000/b/k", "us-west-2", "t", b"payload"),
])
def test_a_put_is_signed_as_botocore_signs_it(monkeypatch: pytest.MonkeyPatch, url: str,
                                              region: str, token: str | None,
                                              body: bytes) -> None:
    headers = {"Content-Length": str(len(body)), "If-None-Match": "*"}
    expected = _botocore(monkeypatch, url, headers, body, region, token)
    path = url.split("/", 3)[3]
    ours = PutSigner(region).sign(access_key="AKIDEXAMPLE", secret_key="secret/key+x",
                                  token=token, host=host_of(url), path="/" + path,
                                  headers=headers, body=body, now=WHEN)
    assert ours["Authorization"] == expected["Authorization"]
    for name in ("X-Amz-Date", "X-Amz-Content-SHA256", "If-None-Match", "Content-Length"):
        assert ours[name] == expected[name]
    assert ours.get("X-Amz-Security-Token") == expected.get("X-Amz-Security-Token")


def test_the_signing_key_is_derived_once_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = PutSigner("us-east-1")
    derived: list[Any] = []
    real = signer.signing_key.__func__  # type: ignore[attr-defined]

    def counting(self: PutSigner, secret: str, day: str) -> bytes:
        with self._lock:
            if (secret, day) not in self._keys:
                derived.append(day)
        return real(self, secret, day)  # type: ignore[no-any-return]

    monkeypatch.setattr(PutSigner, "signing_key", counting)
    for when in (WHEN, WHEN.replace(hour=23), WHEN.replace(day=7)):
        for _ in range(3):
            signer.sign(access_key="a", secret_key="s", token=None, host="h", path="/k",
                        headers={}, body=b"", now=when)
    assert derived == ["20261206", "20261207"]


def test_the_host_leaves_out_a_default_port_only() -> None:
    assert host_of("https://B.example.org:443/x") == "b.example.org"
    assert host_of("http://127.0.0.1:80/x") == "127.0.0.1"
    assert host_of("http://127.0.0.1:8333/x") == "127.0.0.1:8333"
    assert host_of("https://h:80/x") == "h:80"
    assert host_of("http://[::1]:9000/b") == "[::1]:9000"

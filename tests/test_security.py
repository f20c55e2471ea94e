"""Security proofs: the download cache against planted symlinks and tampering (DESIGN.md
invariants 6 and 7), and credentials that never reach logs, messages, reprs or the CLI.

Names are fuzzed in test_fuzz_names.py and permissions in test_permissions_matrix.py.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit
from urllib.request import urlopen

import boto3
import pytest
from botocore.config import Config as BotoConfig
from conftest import make_bucket

from eoscatalog import Catalog, File
from eoscatalog.core.errors import NotFoundError, StoreError
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.core.tempfiles import TEMP_PREFIX, temp_prefix
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.config import Config
from eoscatalog.store import MemoryStore, S3Store, blob_key

# -- the cache: planted symlinks -------------------------------------------------------------

BLOB = b"the verified blob\n" * 100
OLD_NS = 1_000_000_000 * 1_000_000_000  # 2001: stale for every age check
TOKENS = ("0" * 16, "0" * 16)  # the first two temp names a fetch draws, made predictable


def two_blobs(store: MemoryStore) -> tuple[str, str]:
    """Two stored blobs whose entries live in different shard folders."""
    first = store.put_blob_bytes(b"first")
    blobs = (store.put_blob_bytes(BLOB + str(i).encode()) for i in itertools.count())
    return first, next(h for h in blobs if h[7:9] != first[7:9])


def tree(root: Path) -> dict[str, tuple[Any, ...]]:
    """Everything under ``root`` (symlinks not followed): kind, bytes, mode, mtime, inode."""
    found: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            st = os.lstat(path)
            data = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
            found[os.path.relpath(path, root)] = (
                stat.S_IFMT(st.st_mode), data, stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_ino
            )
    return found


def outside_targets(tmp_path: Path, h: str) -> dict[str, Path]:
    """A file, an empty folder, and a folder laid out like the cache (decoys a follower finds)."""
    base, digest, stale = tmp_path / "outside", h[7:], TEMP_PREFIX + "abandoned"
    (base / "empty").mkdir(parents=True)
    (base / "precious.bin").write_bytes(b"precious bytes, not the blob")
    for rel in (f"blake3/{digest[:2]}/{digest}", f"{digest[:2]}/{digest}", digest,
                f"{digest}.lock", "unheld.lock", stale, f"blake3/{digest[:2]}/{stale}",
                f"{digest[:2]}/{stale}"):
        path = base / "decoy" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"decoy: " + rel.encode())
        path.chmod(0o444)
    for folder, dirs, files in os.walk(base):
        for name in dirs + files:
            os.utime(Path(folder, name), ns=(OLD_NS, OLD_NS), follow_symlinks=False)
    return {"file": base / "precious.bin", "empty-folder": base / "empty",
            "decoy-folder": base / "decoy"}


def plant(root: Path, where: str, h: str, first: str, target: Path) -> None:
    """Replace (or create) the cache path ``where`` names with a symlink to ``target``."""
    digest, shard = h[7:], root / "blobs" / "blake3" / h[7:9]
    path = {
        "entry": shard / digest,
        "shard": shard,
        "blobs/blake3": root / "blobs" / "blake3",
        "blobs": root / "blobs",
        "lock": root / "locks" / f"{digest}.lock",
        "locks": root / "locks",
        "staging-temp": shard / f"{temp_prefix()}{TOKENS[0]}-{digest[:8]}",
        "download-temp": shard / f"{temp_prefix()}{TOKENS[1]}",
        "stale-temp": root / "blobs" / "blake3" / first[7:9] / f"{TEMP_PREFIX}stale",
    }[where]
    if where in ("entry", "staging-temp", "download-temp"):
        shard.mkdir(mode=0o700)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    path.symlink_to(target)
    os.utime(path, ns=(OLD_NS, OLD_NS), follow_symlinks=False)


def real_entries(root: Path) -> int:
    """Entries reachable without following a symlink: what info() should count."""
    count = 0
    for folder, _, files in os.walk(root):  # os.walk does not descend into symlinks
        for name in files:
            st = os.lstat(Path(folder, name))
            count += len(name) == 64 and stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222
    return count


def use(cache: BlobCache, op: str, h: str, store: MemoryStore) -> Any:
    if op == "fetch":
        return cache.fetch(h, store)
    if op == "lookup":
        return cache.lookup(h)
    if op == "info":
        return cache.info()
    return cache.prune(0 if op == "prune-all" else 10**12)


def no_symlink_on_the_way(root: Path, path: Path) -> bool:
    return os.path.realpath(path) == os.path.join(os.path.realpath(root), path.relative_to(root))


PLANTS = ["entry", "shard", "blobs/blake3", "blobs", "lock", "locks", "staging-temp",
          "download-temp", "stale-temp"]
TARGETS = ["file", "empty-folder", "decoy-folder"]
CACHE_OPS = ["fetch", "lookup", "info", "prune-all", "prune-none"]
CELLS = [pytest.param(p, t, op, id=f"{p}->{t}-{op}")
         for p in PLANTS for t in TARGETS for op in CACHE_OPS]


@pytest.mark.parametrize(("where", "target", "op"), CELLS)
def test_a_planted_symlink_is_never_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, target: str, op: str
) -> None:
    store = MemoryStore()
    first, h = two_blobs(store)
    root = tmp_path / "cache"
    BlobCache(root).fetch(first, store)  # the root and its folders exist, one entry
    outside = outside_targets(tmp_path, h)
    plant(root, where, h, first, outside[target])
    before = tree(tmp_path / "outside")
    names = itertools.chain(TOKENS, (f"{i:016x}" for i in itertools.count(1)))
    monkeypatch.setattr(secrets, "token_hex", lambda n=None: next(names))
    cache = BlobCache(root)

    if op == "fetch":
        try:
            path = use(cache, op, h, store)
        except StoreError as e:
            assert "symlink" in str(e) or "not a folder" in str(e)
        else:
            assert no_symlink_on_the_way(root, path), f"fetch returned {path}, a link"
            assert path.read_bytes() == store.get(f"blobs/blake3/{h[7:9]}/{h[7:]}")
            assert stat.S_IMODE(os.lstat(path).st_mode) == 0o444
            for folder in (root, root / "blobs", root / "blobs" / "blake3", path.parent,
                           root / "locks"):
                assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700, folder
    elif op == "lookup":
        path = use(cache, op, h, store)
        assert path is None or no_symlink_on_the_way(root, path), f"lookup gave {path}"
    elif op == "info":
        assert use(cache, op, h, store).entries == real_entries(root)
    else:
        use(cache, op, h, store)
    assert tree(tmp_path / "outside") == before, "a file outside the cache was touched"


def test_a_cache_root_linked_to_a_file_or_a_shared_folder_is_refused(tmp_path: Path) -> None:
    """A symlinked root is followed on purpose (a bigger disk), but only to a private folder."""
    store = MemoryStore()
    h = store.put_blob_bytes(BLOB)
    outside = outside_targets(tmp_path, h)
    shared = tmp_path / "outside" / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    before = tree(tmp_path / "outside")
    for target, words in ((outside["file"], "not a folder"), (shared, "writable by")):
        link = tmp_path / f"cache-to-{target.name}"
        link.symlink_to(target)
        for op in CACHE_OPS:
            with pytest.raises(StoreError, match=words):
                use(BlobCache(link), op, h, store)
    assert tree(tmp_path / "outside") == before


# -- the cache: tampered entries ---------------------------------------------------------------


def rewrite_in_place(path: Path, mode: int = 0o444, keep_size: bool = True) -> None:
    """The user (or a stray script) edits the read-only entry and puts its mode back."""
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data) if keep_size else bytes(data[: len(data) // 2]))
    path.chmod(mode)


def replace_file(path: Path) -> None:
    """Another file of the same size and mode renamed over the entry."""
    other = path.with_name(TEMP_PREFIX + "forged")
    other.write_bytes(b"X" * path.stat().st_size)
    other.chmod(0o444)
    os.replace(other, path)


TAMPERS: list[Any] = [
    pytest.param(lambda p: rewrite_in_place(p, mode=0o644), id="edited-left-writable"),
    pytest.param(rewrite_in_place, id="edited-same-size-mode-put-back"),
    pytest.param(lambda p: rewrite_in_place(p, keep_size=False), id="truncated-mode-put-back"),
    pytest.param(replace_file, id="replaced-same-size"),
]


@pytest.mark.parametrize("tamper", TAMPERS)
def test_a_tampered_cache_entry_is_detected_and_fetched_again(
    tmp_path: Path, tamper: Callable[[Path], None]
) -> None:
    store = MemoryStore()
    cat = Catalog(store, ":memory:", user="ada", cache=BlobCache(tmp_path / "cache"))
    cat.put_bytes(BLOB, "reads.txt")
    record, entry = cat.cached("reads.txt")
    tamper(entry)
    assert cat.get("reads.txt", tmp_path / "copy.txt").read_bytes() == BLOB
    assert cat.cache is not None and cat.cache.fetch(record.hash or "", store) == entry
    assert entry.read_bytes() == BLOB and stat.S_IMODE(os.lstat(entry).st_mode) == 0o444
    cat.close()


# -- credentials: never in logs, messages, reprs or the CLI's output ------------------------------

ACCESS_KEY = "AKIAEXAMPLESECRET0001"
SECRET_KEY = "a-very-secret-key-value"
SESSION_TOKEN = "a-session-token-value"
SECRET_ENV = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
              "AWS_SESSION_TOKEN": SESSION_TOKEN}
# A value follows each of these unless it was masked ("***").
LEAKS = [re.compile(p) for p in (
    re.escape(SECRET_KEY),
    re.escape(SESSION_TOKEN),
    r"(?i)authorization['\"]?\s*[:=]\s*(?!(?:b?['\"])?\*\*\*)\S",
    r"AWS4-HMAC-SHA256 Credential=(?!\*\*\*)",
    r"(?i)x-amz-signature=(?!\*\*\*)",
    r"(?i)x-amz-credential=(?!\*\*\*)",
    r"(?i)\bsignature[=:]\s*(?!\*\*\*)[0-9a-f]{8}",
)]
SERVER_LOGGERS = ("werkzeug", "moto", "s3server")  # the test server's own logs, not the client's


def leaks(text: str) -> list[str]:
    return [m.group(0) for pattern in LEAKS for m in pattern.finditer(text)]


def logged_leaks(records: list[logging.LogRecord]) -> list[tuple[str, str]]:
    found = []
    formatter = logging.Formatter()
    for record in records:
        if record.name.split(".")[0] in SERVER_LOGGERS:
            continue
        text = formatter.format(record)
        found += [(record.name, leak) for leak in leaks(text)]
    return found


def error_texts(call: Callable[[], object], kind: type[Exception]) -> str:
    """What a failure shows anyone: message, repr and the whole traceback, causes included."""
    with pytest.raises(kind) as caught:
        call()
    error = caught.value
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for var, value in SECRET_ENV.items():
        monkeypatch.setenv(var, value)
    return SECRET_ENV


def test_no_credential_reaches_logs_messages_or_reprs(
    secret_env: dict[str, str], s3_server: Any, s3_client: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    store = S3Store(f"s3://{make_bucket(s3_client)}/acme", endpoint_url=s3_server.endpoint_url,
                    multipart_threshold=5 * 1024 * 1024, part_size=5 * 1024 * 1024)
    cat = Catalog(store, ":memory:", user="ada", cache=BlobCache(tmp_path / "cache"))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * 1024 * 1024))  # a multipart upload
    cat.put(big, "eos://org/big.bin")
    record = cat.put_bytes(b"small", "eos://org/small.txt").record
    assert cat.get("eos://org/small.txt", tmp_path / "small.txt").read_bytes() == b"small"
    assert cat.read_bytes("eos://org/big.bin") == big.read_bytes()
    link = cat.url("eos://org/small.txt")  # the one intended output with a signature
    signature = parse_qs(urlsplit(link).query)["X-Amz-Signature"][0]

    s3_client.delete_object(Bucket=store.bucket, Key=store.prefix + blob_key(record.hash or ""))
    missing = S3Store("s3://eos-no-such-bucket-0/acme", endpoint_url=s3_server.endpoint_url)
    dead_end = f"http://127.0.0.1:{closed_port()}"
    offline = S3Store(f"s3://{store.bucket}/acme", endpoint_url=dead_end)
    offline.client = boto3.session.Session().client(  # no retries: refused is refused
        "s3", endpoint_url=dead_end, config=BotoConfig(retries={"max_attempts": 0}))
    failures = "\n".join(error_texts(call, kind) for call, kind in (
        (lambda: cat.read_bytes("eos://org/small.txt@1"), NotFoundError),  # the blob: a 404
        (lambda: store.get("no/such/key"), NotFoundError),
        (lambda: Catalog(missing, ":memory:", user="ada").check_store(), StoreError),
        (lambda: offline.get("catalog/org/log/000000000001.json"), StoreError),
    ))
    shown = "\n".join([failures, *(repr(x) for x in (
        store, cat, cat.cache, missing, offline, Config.load(), File(remote="eos://org/big.bin"),
        cat.resolve("eos://org/big.bin"),
    ))])
    assert leaks(shown) == [] and signature not in shown

    found = logged_leaks(caplog.records)
    assert found == [], f"{len(found)} secrets logged: {Counter(n for n, _ in found)}"
    assert not any(signature in r.getMessage() for r in caplog.records
                   if r.name.split(".")[0] not in SERVER_LOGGERS)
    assert any(r.name.startswith("botocore") for r in caplog.records), "no DEBUG logs captured"
    for closing in (cat, missing, offline):
        closing.close()


DEBUG_EOS = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
             "from eoscatalog.cli.main import main; main()")


def test_eos_debug_prints_no_credential(
    secret_env: dict[str, str], s3_server: Any, s3_client: Any, tmp_path: Path
) -> None:
    """`eos --debug` (tracebacks) with every logger at DEBUG, through success and failure.

    Each run pays Python's start (about 1.3 s here), so a successful get is left to the test
    above; `eos cat` runs here as a get that fails (the blob is gone).
    """
    bucket = make_bucket(s3_client)
    env = {**os.environ, **secret_env, "EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
           "EOS_STORE": f"s3://{bucket}/eos", "AWS_ENDPOINT_URL": s3_server.endpoint_url,
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    data = tmp_path / "data.txt"
    data.write_bytes(b"data\n")

    def eos(*args: str, **changes: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", DEBUG_EOS, "--debug", *args],
                              env={**env, **changes}, capture_output=True, text=True, timeout=120)

    put, link = eos("cp", str(data), "eos://org/data.txt"), eos("url", "eos://org/data.txt")
    key = blob_key(hash_bytes(b"data\n"))
    for found in s3_client.list_objects_v2(Bucket=bucket)["Contents"]:
        if found["Key"].endswith(key):  # under the org's root, s3://bucket/eos/<org>/
            s3_client.delete_object(Bucket=bucket, Key=found["Key"])
    failed = [
        eos("cat", "eos://org/data.txt@1", EOS_CACHE=str(tmp_path / "cold")),  # S3 answers 404
        eos("ls", "eos://org/", EOS_STORE="s3://eos-no-such-bucket-0/eos"),
        eos("ls", "eos://org/", AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}"),
    ]
    assert (put.returncode, link.returncode) == (0, 0), put.stderr[-2000:] + link.stderr[-2000:]
    assert link.stdout.startswith("http")
    assert all(r.returncode == 1 and "Traceback" in r.stderr for r in failed), [
        (r.returncode, r.stderr[-300:]) for r in failed]
    assert "botocore" in put.stderr, "no DEBUG logs printed"
    signature = parse_qs(urlsplit(link.stdout.strip()).query)["X-Amz-Signature"][0]
    shown = "\n".join([link.stderr, *(r.stdout + r.stderr for r in [put, *failed])])
    found = leaks(shown)
    assert found == [] and signature not in shown, f"{len(found)} secrets: {found[:5]}"


# -- presigned links: GET of one blob, nothing else ---------------------------------------------


def sigv4_query_signature(method: str, url: str, secret_key: str) -> str:
    """The SigV4 signature of a presigned ``url`` as if it were made for ``method``.

    The canonical request is rebuilt from the link itself (path, every query parameter but
    the signature, the host header it signs, an unsigned payload), so a signature that matches
    for GET and not for PUT means the link authorizes a GET of this path and nothing else.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k != "X-Amz-Signature"]
    params = dict(query)
    assert params["X-Amz-SignedHeaders"] == "host"
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query)
    )
    canonical = "\n".join([method, parts.path, canonical_query, f"host:{parts.netloc}", "",
                           "host", "UNSIGNED-PAYLOAD"])
    date, scope = params["X-Amz-Date"], params["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_a_link_signs_a_get_of_exactly_one_blob(
    secret_env: dict[str, str], s3_server: Any, s3_client: Any
) -> None:
    """moto serves a PUT or DELETE sent with a GET link (measured: 200 and 204, the object
    overwritten), so the server cannot prove the link is GET-only: the signature can."""
    store = S3Store(f"s3://{make_bucket(s3_client)}/acme", endpoint_url=s3_server.endpoint_url)
    cat = Catalog(store, ":memory:", user="ada")
    record = cat.put_bytes(b"report\n", "eos://org/reports/q1.pdf").record
    other = cat.put_bytes(b"another\n", "eos://org/reports/q2.pdf").record
    link = cat.url("eos://org/reports/q1.pdf", expires="2h")
    parts = urlsplit(link)
    params = dict(parse_qsl(parts.query))

    assert parts.path == f"/{store.bucket}/acme/{blob_key(record.hash or '')}"
    assert params["X-Amz-Expires"] == "7200" and params["X-Amz-SignedHeaders"] == "host"
    assert params["X-Amz-Credential"].startswith(ACCESS_KEY + "/")
    assert params["X-Amz-Security-Token"] == SESSION_TOKEN  # temporary credentials need it
    signed = params["X-Amz-Signature"]
    assert sigv4_query_signature("GET", link, SECRET_KEY) == signed
    for method in ("PUT", "DELETE", "POST", "HEAD"):
        assert sigv4_query_signature(method, link, SECRET_KEY) != signed, method
    elsewhere = link.replace(blob_key(record.hash or ""), blob_key(other.hash or ""))
    assert sigv4_query_signature("GET", elsewhere, SECRET_KEY) != signed
    with urlopen(link, timeout=30) as response:  # and it does work, for GET
        assert response.read() == b"report\n"
    cat.close()

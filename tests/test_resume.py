"""Resumable uploads: a killed ``eos put`` or ``eos sync`` of a large file sends, on rerun, only
the parts the server does not hold yet, checked first (the upload still listed, each part's size
and ETag as recorded, the file's bytes those sent), and the blob hashes to its key.

Real ``eos`` processes, killed with SIGKILL (or at the ``put.part-recorded`` crash point), against
moto (whose request log counts the bytes received) and SeaweedFS (through a proxy that counts
the part uploads).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_bucket
from faultproxy import FaultProxy
from seaweed import SeaweedServer

from eoscatalog.core.faults import CRASH_EXIT
from eoscatalog.core.hashing import hash_bytes, hash_file

MiB = 1024 * 1024
PART = 5 * MiB
ROOT = Path(__file__).resolve().parent.parent


def _env(endpoint: str, bucket: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, EOS_STORE=f"s3://{bucket}/acme", AWS_ENDPOINT_URL=endpoint,
               EOS_PART_SIZE="5MiB", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _eos(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "eoscatalog", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _journal(home: Path) -> list[tuple[str, int, int]]:
    """The journal's (upload id, parts recorded, their bytes) rows."""
    path = home / "uploads.sqlite"
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(
            "SELECT upload_id, count(number), coalesce(sum(p.size), 0) FROM uploads u "
            "LEFT JOIN parts p ON p.upload = u.id GROUP BY u.id").fetchall()
    except sqlite3.OperationalError:  # not made yet
        return []
    finally:
        conn.close()


def _kill_when_recorded(proc: subprocess.Popen[bytes], home: Path, parts: int) -> None:
    """SIGKILL ``proc`` once the journal holds ``parts`` parts (it must not finish first)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        rows = _journal(home)
        if rows and rows[0][1] >= parts:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.005)
    raise AssertionError(f"the upload ended before {parts} parts were recorded: "
                         f"{proc.poll()} {proc.stderr.read() if proc.stderr else b''!r}")


def _finish(proc: subprocess.Popen[bytes]) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def _stored(client: Any, bucket: str, data_hash: str) -> bytes:
    key = f"acme/default/blobs/blake3/{data_hash[7:9]}/{data_hash[7:]}"
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def _part_bytes(s3_server: Any, bucket: str) -> int:
    return sum(r.received for r in s3_server.requests.for_bucket(bucket)
               if r.method == "PUT" and "partNumber=" in r.query)


def _uploads(client: Any, bucket: str) -> list[Any]:
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(60 * MiB + 12345))  # 13 parts of 5 MiB, the last short
    return path


def test_killed_put_resumes_the_parts_it_sent_on_moto(
        s3_server: Any, s3_client: Any, big: Path, _isolated_home: Path) -> None:
    bucket = make_bucket(s3_client)
    env = _env(s3_server.endpoint_url, bucket)
    _kill_when_recorded(_eos(env, "put", str(big), "data/big.bin"), _isolated_home, 7)
    [(upload_id, recorded, recorded_bytes)] = _journal(_isolated_home)
    assert 7 <= recorded < 13 and [u["UploadId"] for u in _uploads(s3_client, bucket)] == [
        upload_id]
    before = _part_bytes(s3_server, bucket)
    _finish(_eos(env, "put", str(big), "data/big.bin"))
    size = big.stat().st_size
    resent = _part_bytes(s3_server, bucket) - before
    assert resent == size - recorded_bytes and resent <= 0.55 * size  # only the missing parts
    digest = hash_file(big)
    assert hash_bytes(_stored(s3_client, bucket, digest)) == digest
    assert _journal(_isolated_home) == [] and _uploads(s3_client, bucket) == []


def test_killed_sync_of_a_folder_resumes_on_moto(
        s3_server: Any, s3_client: Any, tmp_path: Path, _isolated_home: Path) -> None:
    bucket = make_bucket(s3_client)
    env = _env(s3_server.endpoint_url, bucket)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "big.bin").write_bytes(os.urandom(60 * MiB))
    (folder / "notes.txt").write_text("small")
    _kill_when_recorded(_eos(env, "sync", str(folder), "eos://users/ada/run/"),
                        _isolated_home, 7)
    [(_, recorded, _)] = _journal(_isolated_home)
    before = _part_bytes(s3_server, bucket)
    _finish(_eos(env, "sync", str(folder), "eos://users/ada/run/"))
    resent = _part_bytes(s3_server, bucket) - before
    assert resent == (12 - recorded) * PART and resent <= 0.55 * 60 * MiB
    digest = hash_file(folder / "big.bin")
    assert hash_bytes(_stored(s3_client, bucket, digest)) == digest
    assert _journal(_isolated_home) == [] and _uploads(s3_client, bucket) == []


def _crashed_put(env: dict[str, str], big: Path, parts: int) -> None:
    """A put that dies (as kill -9 would) right after its ``parts``-th part was recorded."""
    proc = _eos(dict(env, EOS_CRASH_AT=f"put.part-recorded:{parts}"), "put", str(big),
                "data/big.bin")
    proc.communicate(timeout=300)
    assert proc.returncode == CRASH_EXIT


def test_a_file_changed_between_runs_reuses_no_part(
        s3_server: Any, s3_client: Any, big: Path, _isolated_home: Path) -> None:
    bucket = make_bucket(s3_client)
    env = _env(s3_server.endpoint_url, bucket)
    _crashed_put(env, big, 6)
    with big.open("r+b") as f:
        f.write(b"changed")  # in the first part, which was sent
    before = _part_bytes(s3_server, bucket)
    _finish(_eos(env, "put", str(big), "data/big.bin"))
    assert _part_bytes(s3_server, bucket) - before == big.stat().st_size  # all of it again
    digest = hash_file(big)
    assert hash_bytes(_stored(s3_client, bucket, digest)) == digest


def test_parts_that_differ_from_the_journal_are_sent_again(
        s3_server: Any, s3_client: Any, big: Path, _isolated_home: Path) -> None:
    """A part whose recorded bytes are not the file's (sent while the file was being changed)
    or whose ETag is not the server's is not reused."""
    bucket = make_bucket(s3_client)
    env = _env(s3_server.endpoint_url, bucket)
    _crashed_put(env, big, 6)
    conn = sqlite3.connect(_isolated_home / "uploads.sqlite")
    with conn:
        rows = conn.execute("SELECT number, size FROM parts ORDER BY number").fetchall()
        numbers = [n for n, _ in rows]
        conn.execute("UPDATE parts SET digest = zeroblob(32) WHERE number = ?", (numbers[0],))
        conn.execute("UPDATE parts SET etag = '\"0\"' WHERE number = ?", (numbers[1],))
    conn.close()
    before = _part_bytes(s3_server, bucket)
    _finish(_eos(env, "put", str(big), "data/big.bin"))
    size = big.stat().st_size
    kept = sum(n for _, n in rows[2:])
    assert _part_bytes(s3_server, bucket) - before == size - kept
    digest = hash_file(big)
    assert hash_bytes(_stored(s3_client, bucket, digest)) == digest


def test_an_upload_aborted_on_the_server_starts_afresh(
        s3_server: Any, s3_client: Any, big: Path, _isolated_home: Path) -> None:
    bucket = make_bucket(s3_client)
    env = _env(s3_server.endpoint_url, bucket)
    _crashed_put(env, big, 6)
    [upload] = _uploads(s3_client, bucket)
    s3_client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"],
                                     UploadId=upload["UploadId"])
    before = _part_bytes(s3_server, bucket)
    _finish(_eos(env, "put", str(big), "data/big.bin"))
    assert _part_bytes(s3_server, bucket) - before == big.stat().st_size
    digest = hash_file(big)
    assert hash_bytes(_stored(s3_client, bucket, digest)) == digest
    assert _journal(_isolated_home) == [] and _uploads(s3_client, bucket) == []


def test_a_damaged_journal_is_set_aside(
        s3_server: Any, s3_client: Any, big: Path, _isolated_home: Path) -> None:
    bucket = make_bucket(s3_client)
    env = _env(s3_server.endpoint_url, bucket)
    _crashed_put(env, big, 6)
    journal = _isolated_home / "uploads.sqlite"
    for extra in ("-wal", "-shm"):
        journal.with_name(journal.name + extra).unlink(missing_ok=True)
    journal.write_bytes(b"this is not a database" * 100)
    _finish(_eos(env, "put", str(big), "data/big.bin"))
    assert [p.name.split("-")[0] for p in _isolated_home.glob("uploads.sqlite.damaged-*")] == [
        "uploads.sqlite.damaged"]
    digest = hash_file(big)
    assert hash_bytes(_stored(s3_client, bucket, digest)) == digest
    assert _journal(_isolated_home) == []


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    with SeaweedServer(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.mark.slow
def test_killed_put_resumes_the_parts_it_sent_on_seaweedfs(
        seaweed: SeaweedServer, big: Path, _isolated_home: Path) -> None:
    client = seaweed.client()
    bucket = "resume-" + os.urandom(4).hex()
    client.create_bucket(Bucket=bucket)
    port = int(seaweed.endpoint_url.rsplit(":", 1)[1])
    proxy = FaultProxy(("127.0.0.1", port)).start()  # counts the requests
    try:
        env = _env(proxy.url, bucket)
        env.pop("AWS_SESSION_TOKEN", None)  # SeaweedFS takes any key, but no session token
        _kill_when_recorded(_eos(env, "put", str(big), "data/big.bin"), _isolated_home, 7)
        [(_, recorded, _)] = _journal(_isolated_home)
        assert 7 <= recorded < 13
        # gc spares an unfinished upload for a week past its grace period: it may be resumed.
        _finish(_eos(dict(env, EOS_ADMIN="1"), "gc", "--grace", "0"))
        assert len(_uploads(client, bucket)) == 1
        proxy.pass_through()
        _finish(_eos(env, "put", str(big), "data/big.bin"))
        assert proxy.seen("PUT", "partNumber=") == 13 - recorded  # only the missing parts
    finally:
        proxy.stop()
    digest = hash_file(big)
    assert hash_bytes(_stored(client, bucket, digest)) == digest
    assert _journal(_isolated_home) == [] and _uploads(client, bucket) == []


def test_an_upload_in_use_is_neither_resumed_nor_replaced_by_another(tmp_path: Path) -> None:
    from eoscatalog.store.s3.upload_journal import JournalPart, UploadJournal

    journal = UploadJournal(tmp_path / "uploads.sqlite")
    blob = ("root", "blake3:" + "ab" * 32, 10 * MiB)
    entry = journal.start(*blob, PART, "acme/blobs/x", "U1")
    journal.record(entry, JournalPart(1, PART, '"e1"', None, b"d" * 32))
    assert journal.find(*blob) is None  # this process is sending it (two equal files)
    assert journal.start(*blob, PART, "acme/blobs/x", "U2") is None  # goes unjournaled
    journal.release(entry)
    found = journal.find(*blob)
    assert found is not None and found.upload_id == "U1" and list(found.parts) == [1]
    journal.drop(found.id)
    assert journal.find(*blob) is None
    journal.close()

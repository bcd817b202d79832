"""The registry layer on an object store: the s3 driver against moto's S3 server on 127.0.0.1.

Only the driver contract is used, so what passes on the filesystem must pass here; these
cases exercise what differs on object stores: uploads persisted as pending multipart uploads
and resumed by another instance (re-hashed at commit), moves done as copies, flat listings
for the catalog, and upload purging aborting the backend's pending multipart uploads.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from support.manifests import image_manifest, index_manifest, push_blob

from distribution_storage import open_driver
from distribution_storage.layout import Digest
from distribution_storage.registry import DigestMismatchError, Registry

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for this module."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_params(moto_endpoint: str) -> dict[str, Any]:
    """Driver parameters for a new bucket."""
    bucket = f"registry-{uuid.uuid4().hex[:12]}"
    keys = {"aws_access_key_id": "AKIDREGISTRY", "aws_secret_access_key": "registry-secret"}
    admin = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **keys)
    admin.create_bucket(Bucket=bucket)
    return {
        "bucket": bucket,
        "region": "us-east-1",
        "regionendpoint": moto_endpoint,
        "forcepathstyle": "true",
        "accesskey": keys["aws_access_key_id"],
        "secretkey": keys["aws_secret_access_key"],
        "secure": "false",
        "rootdirectory": "registry",
    }


def test_multipart_upload_resumed_by_another_instance(s3_params: dict[str, Any]) -> None:
    data = b"a" * (6 * MiB) + b"tail of the blob"
    first = Registry(open_driver("s3", **s3_params))
    with first.repository("app").uploads.create() as upload:
        upload.write(data[: 6 * MiB])
    second = Registry(open_driver("s3", **s3_params))
    resumed = second.repository("app").uploads.resume(upload.id)
    assert resumed.offset == 6 * MiB
    resumed.write(data[6 * MiB :], offset=6 * MiB)
    descriptor = resumed.commit(Digest.of(data), size=len(data))
    with second.repository("app").blobs.open(descriptor.digest, offset=6 * MiB) as stream:
        assert stream.read() == data[6 * MiB :]


def test_wrong_digest_leaves_nothing_on_s3(s3_params: dict[str, Any]) -> None:
    registry = Registry(open_driver("s3", **s3_params))
    upload = registry.repository("app").uploads.create()
    upload.write(b"content")
    with pytest.raises(DigestMismatchError):
        upload.commit(Digest.of(b"other"))
    assert list(registry.blobs) == []


def test_images_tags_and_catalog_on_s3(s3_params: dict[str, Any]) -> None:
    registry = Registry(open_driver("s3", **s3_params))
    for name in ("team/b", "team/a", "team/a/sub"):
        repo = registry.repository(name)
        children = [image_manifest(repo, seed=s) for s in "xy"]
        for child in children:
            repo.manifests.put(child)
        repo.manifests.put(index_manifest(children), tag="latest")
    assert registry.catalog() == ["team/a", "team/a/sub", "team/b"]
    assert registry.catalog(n=1, last="team/a") == ["team/a/sub"]
    repo = registry.repository("team/a")
    index = repo.manifests.get(repo.tags.get("latest"))
    assert len(index.references) == 2
    assert len(list(repo.manifests)) == 3
    digest = push_blob(repo, b"mounted")
    registry.repository("team/b").mount_blob(digest, "team/a")
    assert registry.repository("team/b").blobs.stat(digest).size == 7


def test_purge_aborts_pending_multipart_uploads(s3_params: dict[str, Any]) -> None:
    registry = Registry(open_driver("s3", **s3_params))
    with registry.repository("app").uploads.create() as upload:
        upload.write(b"x" * (6 * MiB))
    later = datetime.now(UTC) + timedelta(days=8)
    dry = registry.purge_uploads(dry_run=True, now=later)
    assert [r.upload_id for r in dry.purged] == [upload.id]
    report = registry.purge_uploads(now=later)
    assert [r.upload_id for r in report.purged] == [upload.id]
    assert report.pending_aborted >= 1
    client = boto3.client(
        "s3",
        endpoint_url=s3_params["regionendpoint"],
        region_name="us-east-1",
        aws_access_key_id=s3_params["accesskey"],
        aws_secret_access_key=s3_params["secretkey"],
    )
    assert client.list_multipart_uploads(Bucket=s3_params["bucket"]).get("Uploads", []) == []

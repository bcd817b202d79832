"""The registry layer on the gcs driver against fake-gcs-server.

What differs from a filesystem: an upload is a resumable session that another driver
instance carries on (crossing the 256 KiB granularity), blobs are moved by rewrites, the
catalog walks with ``prune`` directory by directory, and upload purging cancels the sessions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from gcs_emulator import GCSEmulator
from support import manifests as support

from distribution_storage import open_driver
from distribution_storage.drivers.gcs import SESSIONS
from distribution_storage.layout import Digest
from distribution_storage.registry import Registry

KiB = 1024


def _sessions(emulator: GCSEmulator, bucket: str, root: str) -> list[str]:
    listing = requests.get(
        f"{emulator.endpoint}/storage/v1/b/{bucket}/o", params={"prefix": f"{root}/{SESSIONS}/"}
    ).json()
    return [item["name"] for item in listing.get("items", [])]


def test_upload_resumed_by_another_instance(gcs_params: Any) -> None:
    """A closed upload carries on in a new driver, and the blob reads back whole."""
    params = gcs_params(rootdirectory="reg-resume")
    data = bytes(range(256)) * (5 * KiB) + b"tail of the blob"  # 1.25 MiB + 16
    first = Registry(open_driver("gcs", **params))
    with first.repository("app").uploads.create() as upload:
        upload.write(data[: 300 * KiB])
    second = Registry(open_driver("gcs", **params))
    resumed = second.repository("app").uploads.resume(upload.id)
    assert resumed.offset == 300 * KiB
    resumed.write(data[300 * KiB :], offset=300 * KiB)
    descriptor = resumed.commit(Digest.of(data), size=len(data))
    with second.repository("app").blobs.open(descriptor.digest, offset=300 * KiB) as stream:
        assert stream.read() == data[300 * KiB :]


def test_images_tags_and_catalog(gcs_params: Any) -> None:
    """Manifests, an index, tags, the catalog (paged) and a cross-repository mount."""
    registry = Registry(open_driver("gcs", **gcs_params(rootdirectory="reg-images")))
    for name in ("team/b", "team/a", "team/a/sub"):
        repo = registry.repository(name)
        children = [support.image_manifest(repo, seed=s) for s in "xy"]
        for child in children:
            repo.manifests.put(child)
        repo.manifests.put(support.index_manifest(children), tag="latest")
    assert registry.catalog() == ["team/a", "team/a/sub", "team/b"]
    assert registry.catalog(n=1, last="team/a") == ["team/a/sub"]
    repo = registry.repository("team/a")
    index = repo.manifests.get(repo.tags.get("latest"))
    assert len(index.references) == 2
    digest = support.push_blob(repo, b"mounted")
    registry.repository("team/b").mount_blob(digest, "team/a")
    assert registry.repository("team/b").blobs.stat(digest).size == 7


def test_purge_cancels_pending_sessions(
    gcs_params: Any, gcs_emulator: GCSEmulator, gcs_bucket: str
) -> None:
    """Purging old uploads removes their directories and their upload sessions."""
    registry = Registry(open_driver("gcs", **gcs_params(rootdirectory="reg-purge")))
    with registry.repository("app").uploads.create() as upload:
        upload.write(b"x" * (300 * KiB))
    assert _sessions(gcs_emulator, gcs_bucket, "reg-purge") != []
    later = datetime.now(UTC) + timedelta(days=8)
    report = registry.purge_uploads(now=later)
    assert [r.upload_id for r in report.purged] == [upload.id]
    assert _sessions(gcs_emulator, gcs_bucket, "reg-purge") == []

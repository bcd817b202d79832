"""The registry layer on the azure driver against Azurite.

What differs from a filesystem: an upload is an append blob that another driver instance
carries on, blobs are moved by server-side copies, the catalog walks directory by directory
with hierarchical listings, and manifests are block blobs written over by ``put_content``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support import manifests as support

from distribution_storage import open_driver
from distribution_storage.layout import Digest
from distribution_storage.registry import Registry
from distribution_storage.registry.errors import BlobUploadUnknownError

KiB = 1024


def test_upload_resumed_by_another_instance(azure_params: Any) -> None:
    """A closed upload carries on in a new driver, and the blob reads back whole."""
    params = azure_params(rootdirectory="reg-resume")
    data = bytes(range(256)) * (20 * KiB) + b"tail of the blob"  # 5 MiB + 16: two appends
    first = Registry(open_driver("azure", **params))
    with first.repository("app").uploads.create() as upload:
        upload.write(data[: 300 * KiB])
    second = Registry(open_driver("azure", **params))
    resumed = second.repository("app").uploads.resume(upload.id)
    assert resumed.offset == 300 * KiB
    resumed.write(data[300 * KiB :], offset=300 * KiB)
    descriptor = resumed.commit(Digest.of(data), size=len(data))
    with second.repository("app").blobs.open(descriptor.digest, offset=300 * KiB) as stream:
        assert stream.read() == data[300 * KiB :]


def test_images_tags_and_catalog(azure_params: Any) -> None:
    """Manifests, an index, tags, the catalog (paged) and a cross-repository mount."""
    registry = Registry(open_driver("azure", **azure_params(rootdirectory="reg-images")))
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


def test_purge_removes_old_uploads(azure_params: Any) -> None:
    """Purging removes an old upload (its append blob included); it cannot be resumed."""
    registry = Registry(open_driver("azure", **azure_params(rootdirectory="reg-purge")))
    with registry.repository("app").uploads.create() as upload:
        upload.write(b"x" * (300 * KiB))
    assert registry.purge_uploads().purged == []  # not old yet
    later = datetime.now(UTC) + timedelta(days=8)
    report = registry.purge_uploads(now=later)
    assert [r.upload_id for r in report.purged] == [upload.id]
    with pytest.raises(BlobUploadUnknownError):
        registry.repository("app").uploads.resume(upload.id)

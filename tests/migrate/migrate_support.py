"""Helpers of the migration tests: fill a store through the registry layer, read a tree."""

from __future__ import annotations

import os

from support.manifests import image_manifest, push_blob

from distribution_storage.demo import populate
from distribution_storage.driver import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.layout import ROOT, Digest
from distribution_storage.registry import Registry


def fill(driver: StorageDriver, *, repositories: int = 3, big: int = 0) -> list[Digest]:
    """Push a sample store: a multi-arch index with a referrer, plain images in several
    repositories (some tags moved, so tag history has several entries), an orphan blob,
    ``big`` bytes of one extra layer, and one abandoned upload. Returns the blob digests."""
    registry = Registry(driver)
    populate(registry, "demo/app")
    for number in range(repositories):
        repo = registry.repository(f"team{number}/service")
        for version in range(2):
            payload = image_manifest(repo, seed=f"{number}-{version}", layers=2)
            repo.manifests.put(payload, tag="latest")
            repo.manifests.put(payload, tag=f"v{version}")
    extra = registry.repository("big/one")
    digests = []
    if big:
        digests.append(push_blob(extra, os.urandom(big)))
    digests.append(push_blob(extra, b"orphan layer"))
    upload = registry.repository("team0/service").uploads.create()
    upload.write(b"half an upload")
    upload.close()
    return digests


def tree(driver: StorageDriver, root: str = ROOT) -> dict[str, bytes]:
    """Every file below ``root`` with its content."""
    try:
        return {
            info.path: driver.get_content(info.path)
            for info in driver.walk(root)
            if not info.is_dir
        }
    except PathNotFoundError:
        return {}


def without_uploads(files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` without those of abandoned uploads."""
    return {path: data for path, data in files.items() if "/_uploads/" not in path}


def check_consistent(driver: StorageDriver) -> int:
    """Assert the store is one a registry can serve: every blob's bytes match its digest and
    every link names a blob that is present. Returns the blob count."""
    from distribution_storage.inventory import scan_blobs
    from distribution_storage.layout import blob_data_path

    blobs = scan_blobs(driver)
    for digest in blobs:
        assert Digest.of(driver.get_content(blob_data_path(digest)), digest.algorithm) == digest
    for path, data in tree(driver, f"{ROOT}/repositories").items():
        if path.endswith("/link"):
            assert Digest.parse(data.decode()) in blobs, f"{path} links a missing blob"
    return len(blobs)

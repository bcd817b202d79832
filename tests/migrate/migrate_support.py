"""Helpers of the migration tests: fill a store through the registry layer, read a tree."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from distribution_storage.demo import populate
from distribution_storage.driver import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.layout import ROOT, Digest
from distribution_storage.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "registry"))
from registry_support import image_manifest, push_blob


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

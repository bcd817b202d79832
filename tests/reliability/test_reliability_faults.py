"""GC and uploads on a backend that fails at random: each completes or stops, nothing breaks.

The store is then checked with fsck on the healthy driver: no damage, and every image that
was whole before (or whose push completed) is still whole.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.images import Image, Images

from distribution_storage import StorageDriverError, open_driver
from distribution_storage.driver.middleware.faults import FaultInjectingDriver
from distribution_storage.fsck import fsck
from distribution_storage.gc import collect_garbage
from distribution_storage.layout import Digest
from distribution_storage.registry import Registry


def whole(registry: Registry, image: Image) -> bool:
    blobs = {b.digest for b in registry.blobs}
    return image.digest in blobs and all(d in blobs for d in image.blobs)


@pytest.mark.parametrize("seed", range(6))
def test_gc_under_random_faults_completes_or_stops_and_breaks_nothing(
    tmp_path: Path, seed: int
) -> None:
    healthy = open_driver("filesystem", rootdirectory=str(tmp_path / "store"))
    registry = Registry(healthy)
    images = Images(registry)
    kept = [images.image(f"r{n}", tag="v1") for n in range(4)]
    kept.append(images.index("multi", [images.image("multi"), images.image("multi")], tag="x"))
    for n in range(4):
        images.image(f"r{n}")  # garbage
    faulty = FaultInjectingDriver(healthy, fail_rate=0.05, seed=seed)
    outcomes = []
    for _ in range(3):
        try:
            collect_garbage(faulty, delete_untagged=True, grace_period=0)
            outcomes.append("completed")
        except StorageDriverError as exc:
            assert "injected fault" in str(exc)
            outcomes.append("stopped")
        report = fsck(registry)
        assert report.whole, report.damage
        assert all(whole(registry, image) for image in kept)
    collect_garbage(registry, delete_untagged=True, grace_period=0)
    assert fsck(registry).whole
    assert all(whole(registry, image) for image in kept)
    assert faulty.injected > 0 or outcomes == ["completed"] * 3


@pytest.mark.parametrize("seed", range(4))
def test_uploads_under_random_faults_never_expose_wrong_content(tmp_path: Path, seed: int) -> None:
    healthy = open_driver("filesystem", rootdirectory=str(tmp_path / "store"))
    faulty = FaultInjectingDriver(healthy, fail_rate=0.05, seed=seed)
    registry = Registry(faulty)
    committed: dict[Digest, bytes] = {}
    failures = 0
    for n in range(40):
        data = os.urandom(1000 + n)
        digest = Digest.of(data)
        try:
            with registry.repository("app").uploads.create() as upload:
                upload.write(data[:500])
                upload.write(data[500:])
                upload.commit(digest, size=len(data))
            committed[digest] = data
        except StorageDriverError:
            failures += 1
    assert failures > 0
    check = Registry(healthy)
    report = fsck(check)
    assert report.whole, report.damage
    for digest, data in committed.items():
        with check.repository("app").blobs.open(digest) as stream:
            assert stream.read() == data

"""GC fails closed on read errors, and is safe beside pushes running at the same time."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from support.images import Image, Images
from support.manifests import plant_corrupt_manifest, refused_forms

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.driver.middleware.faults import FaultInjectingDriver
from distribution_storage.gc import GarbageCollectionError, collect_garbage
from distribution_storage.layout import Digest, blob_data_path
from distribution_storage.registry import Registry


def stored(registry: Registry) -> set[Digest]:
    return {blob.digest for blob in registry.blobs}


def plant_orphan(registry: Registry, name: str) -> Digest:
    data = b"garbage that a healthy run would delete"
    with registry.repository(name).uploads.create() as upload:
        upload.write(data)
        upload.commit(Digest.of(data))
    return Digest.of(data)


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b'{"schemaVersion": 2}'])
def test_an_unparseable_manifest_stops_the_run_before_any_deletion(
    registry: Registry, images: Images, payload: bytes
) -> None:
    images.image("good", tag="v1")
    orphan = plant_orphan(registry, "good")
    bad = plant_corrupt_manifest(registry, "broken/repo", payload)
    before = stored(registry)
    with pytest.raises(GarbageCollectionError) as caught:
        collect_garbage(registry, grace_period=0, delete_untagged=True)
    assert caught.value.repository == "broken/repo"
    assert caught.value.digest == str(bad)
    assert "broken/repo" in str(caught.value) and str(bad) in str(caught.value)
    assert stored(registry) == before
    assert orphan in stored(registry)


@pytest.mark.parametrize("form", list(refused_forms(b'{"layers": [{}]}')))
def test_a_manifest_distribution_cannot_read_stops_the_run_naming_it(
    registry: Registry, images: Images, form: str
) -> None:
    images.image("good", tag="v1")
    orphan = plant_orphan(registry, "good")
    payload = refused_forms(images.image("broken/repo").payload)[form]
    bad = plant_corrupt_manifest(registry, "broken/repo", payload)
    before = stored(registry)
    with pytest.raises(GarbageCollectionError, match="invalid manifest") as caught:
        collect_garbage(registry, grace_period=0, delete_untagged=True)
    assert (caught.value.repository, caught.value.digest) == ("broken/repo", str(bad))
    assert stored(registry) == before
    assert orphan in stored(registry)


def test_skipping_an_unreadable_repository_keeps_everything_it_links(
    registry: Registry, images: Images
) -> None:
    images.image("good", tag="v1")
    orphan = plant_orphan(registry, "good")
    bad = plant_corrupt_manifest(registry, "broken/repo", b"{not json")
    report = collect_garbage(
        registry, grace_period=0, delete_untagged=True, skip_repositories=["broken/repo"]
    )
    assert orphan not in stored(registry)
    assert bad in stored(registry)
    assert any("skipped on request" in note for note in report.notes)


def test_a_revision_pointing_at_a_huge_blob_stops_the_run(
    registry: Registry, images: Images
) -> None:
    images.image("good", tag="v1")
    orphan = plant_orphan(registry, "good")
    huge = plant_corrupt_manifest(registry, "huge", b"x" * (4 * 1024 * 1024 + 1))
    before = stored(registry)
    with pytest.raises(GarbageCollectionError, match="over the 4194304-byte limit") as caught:
        collect_garbage(registry, grace_period=0)
    assert caught.value.digest == str(huge)
    assert stored(registry) == before
    assert orphan in before


def every_file(driver: StorageDriver) -> set[str]:
    return {info.path for info in driver.walk() if not info.is_dir}


@pytest.mark.parametrize(
    ("verb", "fail_on"), [("get_content", 1), ("reader", 2), ("stat", 2), ("walk", 2)]
)
def test_a_failing_backend_read_deletes_nothing(
    driver: StorageDriver, images: Images, registry: Registry, verb: str, fail_on: int
) -> None:
    images.image("app", tag="v1")
    images.image("app")
    orphan = plant_orphan(registry, "app")
    before = every_file(driver)
    faulty = FaultInjectingDriver(driver, verbs=[verb], fail_on=fail_on)
    with pytest.raises(Exception) as caught:
        collect_garbage(faulty, grace_period=0, delete_untagged=True)
    assert "injected fault" in str(caught.value)
    assert every_file(driver) == before  # not a blob, not a link
    assert blob_data_path(orphan) in before


def test_a_malformed_tag_link_stops_the_run(registry: Registry, images: Images) -> None:
    images.image("app", tag="v1")
    orphan = plant_orphan(registry, "app")
    registry.driver.put_content(
        "/docker/registry/v2/repositories/app/_manifests/tags/v1/current/link", b"sha256:zz"
    )
    with pytest.raises(GarbageCollectionError, match="tag v1 has a malformed link"):
        collect_garbage(registry, grace_period=0)
    assert orphan in stored(registry)


def test_a_tag_link_ending_in_a_newline_is_read_as_the_registry_reads_it(
    registry: Registry, images: Images
) -> None:
    tagged = images.image("app", tag="v1")
    untagged = images.image("app")
    link = "/docker/registry/v2/repositories/app/_manifests/tags/v1/current/link"
    registry.driver.put_content(link, f"{tagged.digest}\n".encode())
    assert registry.repository("app").tags.get("v1") == tagged.digest
    report = collect_garbage(registry, grace_period=0, delete_untagged=True)
    assert [(d.kind, d.digest) for d in report.deletions if d.kind == "manifest"] == [
        ("manifest", str(untagged.digest))
    ]
    assert tagged.digest in stored(registry)


def age_store(root: Path, hours: float) -> None:
    """Make every file and directory of a filesystem store ``hours`` old."""
    moment = time.time() - hours * 3600
    for path in [root, *root.rglob("*")]:
        os.utime(path, (moment, moment))


def test_pushes_during_gc_with_a_grace_period_stay_whole(tmp_path: Path) -> None:
    root = tmp_path / "store"
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    old = Images(registry)
    garbage = []
    for index in range(5):
        garbage.append(old.image(f"old/r{index}"))  # untagged: GC deletes these
        old.image(f"old/r{index}", tag="kept")
    age_store(root, hours=2)
    pushed: list[Image] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    deleted: set[Digest] = set()

    def push(worker: int) -> None:
        builder = Images(registry)
        name = f"live/w{worker}"
        count = 0
        try:
            while not stop.is_set() and count < 30:
                # An index child is untagged until its index lands: only the grace period
                # keeps a GC running in between from deleting it.
                child = builder.image(name, seed=f"w{worker}-{count}")
                index = builder.index(name, [child], tag=f"t{count}")
                pushed.extend([child, index])
                if count % 3 == 2:  # and some images are deleted again, as users do
                    registry.repository(name).manifests.delete(index.digest)
                    deleted.update((index.digest, child.digest))
                count += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    reports = [
        collect_garbage(registry, delete_untagged=True, grace_period=3600, workers=4)
        for _ in range(3)
    ]
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(pushed) >= 8
    blobs = stored(registry)
    assert deleted
    for image in pushed:
        if image.digest in deleted:
            continue
        assert image.digest in blobs
        assert all(d in blobs for d in image.blobs)
        assert registry.repository(image.repository).manifests.exists(image.digest)
    assert sum(report.manifests_deleted for report in reports) == 5
    assert all(image.digest not in blobs for image in garbage)

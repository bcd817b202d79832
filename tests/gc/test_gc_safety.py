"""GC fails closed on read errors, and is safe beside pushes running at the same time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.images import Image, Images
from support.manifests import plant_corrupt_manifest, refused_forms
from support.pausing import InThread, Pause, PausingDriver

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.driver.middleware.faults import FaultInjectingDriver
from distribution_storage.gc import GarbageCollectionError, GCReport, collect_garbage
from distribution_storage.layout import (
    BLOBS_ROOT,
    REPOSITORIES_ROOT,
    Digest,
    blob_data_path,
)
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


class Garbage:
    """A filesystem store two hours old: five tagged images to keep and, beside each, an
    untagged one that GC deletes."""

    def __init__(self, root: Path) -> None:
        self.driver = open_driver("filesystem", rootdirectory=str(root))
        self.registry = Registry(self.driver)
        old = Images(self.registry)
        self.garbage: list[Image] = []
        self.kept: list[Image] = []
        for index in range(5):
            self.garbage.append(old.image(f"old/r{index}"))
            self.kept.append(old.image(f"old/r{index}", tag="kept"))
        age_store(root, hours=2)

    def deletions(self) -> set[tuple[str, str]]:
        """What a GC deleting untagged manifests deletes: the garbage and nothing else."""
        expected: set[tuple[str, str]] = set()
        for image in self.garbage:
            expected |= {("manifest", str(image.digest)), ("blob", str(image.digest))}
            for blob in image.blobs:
                expected |= {("blob", str(blob)), ("layer-link", str(blob))}
        return expected


def whole(registry: Registry, image: Image) -> bool:
    blobs = stored(registry)
    return (
        registry.repository(image.repository).manifests.exists(image.digest)
        and image.digest in blobs
        and all(blob in blobs for blob in image.blobs)
    )


def gc_with_a_grace_period(driver: StorageDriver) -> GCReport:
    return collect_garbage(driver, delete_untagged=True, grace_period=3600, workers=4)


# Where GC is held while the test pushes. The inventory reads no file's content, so the first
# read of one is the mark starting; the re-check walks the repositories a second time; the
# sweep deletes manifests and layer links in batches before the blobs.
GC_POINTS: dict[str, Callable[[PausingDriver], Pause]] = {
    "after the inventory": lambda driver: driver.pause(
        "get_content", "reader", hold=True, name="GC after its inventory"
    ),
    "before the re-check": lambda driver: driver.pause(
        "walk", where=REPOSITORIES_ROOT.__eq__, call=2, hold=True, name="GC before its re-check"
    ),
    "before the sweep": lambda driver: driver.pause(
        "delete_files", hold=True, name="GC before its sweep"
    ),
    "between the link and the blob deletions": lambda driver: driver.pause(
        "delete_files",
        where=lambda path: path.startswith(BLOBS_ROOT),
        hold=True,
        name="GC before it deletes blobs",
    ),
}


HELD_GC_CASES = [
    (point, action)
    for point in GC_POINTS
    for action in ("whole push", "index over an earlier child", "deletion", "retag of old garbage")
    # Only the re-check sees a reference to old content: after it, that is not protected.
    if action != "retag of old garbage" or point in ("after the inventory", "before the re-check")
]


@pytest.mark.parametrize(("point", "action"), HELD_GC_CASES)
def test_pushes_while_gc_is_held_stay_whole(tmp_path: Path, point: str, action: str) -> None:
    """A push, the index landing over a child pushed untagged, or a user's deletion, made
    while a GC with a grace period is held at each of its phases, loses nothing that is
    still referenced; the GC deletes the old garbage and nothing else. An old untagged
    manifest tagged again before the re-check is kept too (after it, the module docstring
    of the collector names the window it is not protected in)."""
    store = Garbage(tmp_path / "store")
    registry = store.registry
    new = Images(registry)  # pushes go straight to the store, past the pauses
    child = new.image("live/app", seed="child") if action == "index over an earlier child" else None
    doomed = None
    if action == "deletion":
        doomed_child = new.image("live/app", seed="doomed child")
        doomed = new.index("live/app", [doomed_child], tag="doomed")
    with PausingDriver(store.driver) as pausing:
        held = GC_POINTS[point](pausing)
        gc = InThread(lambda: gc_with_a_grace_period(pausing), name="GC")
        held.wait_until_reached(caller=gc)
        pushed: list[Image] = []
        if action == "deletion":
            assert doomed is not None
            registry.repository("live/app").manifests.delete(doomed.digest)
            pushed.append(doomed_child)
        elif action == "retag of old garbage":
            revived = store.garbage.pop(0)
            registry.repository(revived.repository).tags.tag("revived", revived.digest)
            pushed.append(revived)
        else:
            child = child or new.image("live/app", seed="child")
            pushed += [child, new.index("live/app", [child], tag="v1")]
        held.release()
        report = gc.result()
    assert {(d.kind, d.digest) for d in report.deletions} == store.deletions()
    for image in [*pushed, *store.kept]:
        assert whole(registry, image), image
    assert not any(whole(registry, image) for image in store.garbage)
    if doomed is not None:  # gone as a manifest, but its young blob is the grace period's
        assert not registry.repository("live/app").manifests.exists(doomed.digest)
        assert doomed.digest in stored(registry)
    assert gc_with_a_grace_period(store.driver).deletions == []


# Where a push is held while a whole GC runs: its first blob stored but not yet linked
# into the repository; its child manifest linked untagged and the index's blob stored, the
# index not yet linked.
PUSH_POINTS: dict[str, Callable[[PausingDriver], Pause]] = {
    "a blob before its layer link": lambda driver: driver.pause(
        "put_content", where=lambda path: "/_layers/" in path, name="the push's layer link"
    ),
    "an index before its revision link": lambda driver: driver.pause(
        "put_content",
        where=lambda path: "/_manifests/revisions/" in path,
        call=2,
        name="the index's revision link",
    ),
}


@pytest.mark.parametrize("point", list(PUSH_POINTS))
def test_a_push_held_across_a_whole_gc_stays_whole(tmp_path: Path, point: str) -> None:
    """Content a push has stored but not yet referenced is young: a GC run in between
    keeps it, and the push then completes whole."""
    store = Garbage(tmp_path / "store")
    with PausingDriver(store.driver) as pausing:
        held = PUSH_POINTS[point](pausing)
        pusher = Images(Registry(pausing))

        def push() -> tuple[Image, Image]:
            child = pusher.image("live/app", seed="child")
            return child, pusher.index("live/app", [child], tag="v1")

        push_running = InThread(push, name="the push")
        held.wait_until_reached(caller=push_running)
        report = gc_with_a_grace_period(store.driver)
        held.release()
        child, index = push_running.result()
    assert {(d.kind, d.digest) for d in report.deletions} == store.deletions()
    assert report.kept_by_grace_period >= 1  # what the push stored unreferenced
    assert whole(store.registry, child) and whole(store.registry, index)
    assert store.registry.repository("live/app").tags.get("v1") == index.digest
    assert gc_with_a_grace_period(store.driver).deletions == []

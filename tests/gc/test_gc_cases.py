"""Garbage collection cases: distribution's own, multi-arch, referrers, each on its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

import pytest
from support.images import Image, Images

from distribution_storage import open_driver
from distribution_storage.driver.contract import Capability
from distribution_storage.drivers.inmemory import InMemoryDriver
from distribution_storage.gc import GCReport, collect_garbage
from distribution_storage.inventory import scan_repositories
from distribution_storage.layout import (
    Digest,
    blob_data_path,
    layer_link_path,
    tag_current_link_path,
)
from distribution_storage.progress import ProgressUpdate
from distribution_storage.registry import Registry


def gc(registry: Registry, **options: Any) -> GCReport:
    options.setdefault("grace_period", 0)
    return collect_garbage(registry, **options)


def stored(registry: Registry) -> set[Digest]:
    return {blob.digest for blob in registry.blobs}


def whole(registry: Registry, image: Image) -> bool:
    """The manifest and every blob it references are still stored."""
    blobs = stored(registry)
    return image.digest in blobs and all(d in blobs for d in image.blobs)


def gone(registry: Registry, image: Image, *, shared: frozenset[Digest] = frozenset()) -> bool:
    blobs = stored(registry)
    return image.digest not in blobs and not any(d in blobs for d in image.blobs if d not in shared)


def test_no_deletion_has_no_effect(registry: Registry, images: Images) -> None:
    a = images.image("library/a", tag="latest")
    b = images.image("library/b", tag="v1")
    untagged = images.image("library/b")
    before = stored(registry)
    report = gc(registry)
    assert report.deletions == []
    assert stored(registry) == before
    assert whole(registry, a) and whole(registry, b) and whole(registry, untagged)
    assert report.blobs_marked == len(before)


def test_a_deleted_manifests_blobs_go(registry: Registry, images: Images) -> None:
    doomed = images.image("app", tag="old")
    kept = images.image("app", tag="new")
    registry.repository("app").manifests.delete(doomed.digest)
    report = gc(registry)
    assert gone(registry, doomed)
    assert whole(registry, kept)
    assert report.blobs_deleted == 4  # the manifest, its config and its two layers
    assert report.bytes_freed > 0


def test_a_shared_layer_survives_while_any_manifest_uses_it(
    registry: Registry, images: Images
) -> None:
    shared = b"a base layer both images use" * 50
    first = images.image("app", tag="one", shared_layer=shared)
    second = images.image("app", tag="two", shared_layer=shared)
    shared_digest = Digest.of(shared)
    manifests = registry.repository("app").manifests
    manifests.delete(first.digest)
    gc(registry)
    assert shared_digest in stored(registry)
    assert gone(registry, first, shared=frozenset({shared_digest}))
    manifests.delete(second.digest)
    gc(registry)
    assert shared_digest not in stored(registry)


def test_an_orphan_blob_goes(registry: Registry, images: Images) -> None:
    keep = images.image("app", tag="v1")
    repo = registry.repository("app")
    upload = repo.uploads.create()
    upload.write(b"pushed but never referenced")
    orphan = upload.commit(Digest.of(b"pushed but never referenced")).digest
    report = gc(registry)
    assert orphan not in stored(registry)
    assert whole(registry, keep)
    assert any(d.digest == str(orphan) and d.kind == "blob" for d in report.deletions)


def test_untagged_manifests_go_only_with_delete_untagged(
    registry: Registry, images: Images
) -> None:
    tagged = images.image("app", tag="v1")
    untagged = images.image("app")
    assert gc(registry).deletions == []
    assert whole(registry, untagged)
    report = gc(registry, delete_untagged=True)
    assert gone(registry, untagged)
    assert whole(registry, tagged)
    assert report.manifests_deleted == 1
    assert not registry.repository("app").manifests.exists(untagged.digest)


def test_sweep_progress_counts_deletions_not_files(registry: Registry, images: Images) -> None:
    old = images.image("app", tag="v1")
    images.image("app", tag="v1")  # v1 moves on: the old manifest keeps a tag history entry
    updates: list[ProgressUpdate] = []
    report = gc(registry, delete_untagged=True, progress=updates.append)
    assert gone(registry, old)
    sweep = [u for u in updates if u.phase.startswith("deleting")]
    # the old manifest is one deletion of two files (revision link, tag history entry)
    assert sweep[-1].done == sweep[-1].total == len(report.deletions)


def test_an_index_with_dangling_references_is_kept(registry: Registry, images: Images) -> None:
    child = images.image("multi")
    other = images.image("multi")
    index = images.index("multi", [child, other], tag="latest")
    registry.repository("multi").manifests.delete(child.digest)
    report = gc(registry, delete_untagged=True)
    assert whole(registry, index)
    assert whole(registry, other)
    assert child.digest in stored(registry)  # the tagged index still names it
    assert report.manifests_deleted == 0


def test_an_untagged_index_goes_with_its_untagged_children(
    registry: Registry, images: Images
) -> None:
    children = [images.image("multi"), images.image("multi")]
    index = images.index("multi", children)
    keep = images.image("multi", tag="keep")
    report = gc(registry, delete_untagged=True)
    assert gone(registry, index)
    for child in children:
        assert gone(registry, child)
    assert whole(registry, keep)
    assert report.manifests_deleted == 3


def test_unused_layer_links_go(registry: Registry, images: Images, driver: Any) -> None:
    image = images.image("app", tag="v1")
    registry.repository("app").manifests.delete(image.digest)
    gc(registry)
    for digest in image.blobs:
        assert not driver_has(driver, layer_link_path("app", digest))


def driver_has(driver: Any, path: str) -> bool:
    try:
        driver.stat(path)
    except FileNotFoundError:
        return False
    return True


def test_unknown_repositories_and_missing_manifests_are_handled(
    registry: Registry, images: Images, driver: Any
) -> None:
    image = images.image("app", tag="v1")
    broken = images.image("app", tag="v2")
    registry.blobs.delete(broken.digest)  # the revision link now names a missing blob
    driver.put_content("/docker/registry/v2/repositories/empty/_manifests/tags/.keep", b"")
    report = gc(registry)
    assert whole(registry, image)
    assert any("has a revision link but no blob" in note for note in report.notes)


def test_tagged_list_keeps_its_untagged_children(registry: Registry, images: Images) -> None:
    children = [images.image("multi"), images.image("multi")]
    index = images.index("multi", children, tag="latest")
    report = gc(registry, delete_untagged=True)
    assert whole(registry, index)
    for child in children:
        assert whole(registry, child)
        assert registry.repository("multi").manifests.exists(child.digest)
    assert report.deletions == []


def test_untagged_list_with_untagged_children_all_go(registry: Registry, images: Images) -> None:
    children = [images.image("multi"), images.image("multi")]
    index = images.index("multi", children)
    gc(registry, delete_untagged=True)
    assert gone(registry, index)
    assert all(gone(registry, child) for child in children)


def test_untagged_list_with_a_tagged_child_keeps_the_child(
    registry: Registry, images: Images
) -> None:
    tagged_child = images.image("multi", tag="amd64")
    other_child = images.image("multi")
    index = images.index("multi", [tagged_child, other_child])
    gc(registry, delete_untagged=True)
    assert whole(registry, tagged_child)
    assert gone(registry, index)
    assert gone(registry, other_child)


def test_tagged_list_with_a_deleted_child_reference(registry: Registry, images: Images) -> None:
    deleted = images.image("multi")
    kept = images.image("multi")
    index = images.index("multi", [deleted, kept], tag="latest")
    registry.repository("multi").manifests.delete(deleted.digest)
    gc(registry, delete_untagged=True)
    assert whole(registry, index)
    assert whole(registry, kept)
    # As in distribution: the index names the child, so its manifest blob stays, but the
    # child is no longer one of the repository's manifests, so its own blobs go.
    blobs = stored(registry)
    assert deleted.digest in blobs
    assert not any(d in blobs for d in deleted.blobs)


def test_multi_arch_children_of_a_tagged_index_always_survive(
    registry: Registry, images: Images
) -> None:
    arches = [images.image("multi", layers=3) for _ in range(4)]
    inner = images.index("multi", arches[:2])
    outer = images.index("multi", [inner, *arches[2:]], tag="latest")
    images.image("multi", tag="latest")  # retagging leaves the index untagged ...
    images.index("multi", [inner, *arches[2:]], tag="stable")  # ... but it is tagged here
    gc(registry, delete_untagged=True)
    assert whole(registry, outer)
    assert whole(registry, inner)
    assert all(whole(registry, arch) for arch in arches)


def test_referrers_of_a_surviving_manifest_survive_by_default(
    registry: Registry, images: Images
) -> None:
    image = images.image("app", tag="v1")
    signature = images.image("app", subject=image, layers=1)
    sbom_of_signature = images.image("app", subject=signature, layers=1)
    gc(registry, delete_untagged=True)
    assert whole(registry, signature)
    assert whole(registry, sbom_of_signature)
    gc(registry, delete_untagged=True, keep_referrers=False)
    assert gone(registry, signature)
    assert gone(registry, sbom_of_signature)
    assert whole(registry, image)


def test_referrers_of_a_deleted_manifest_go(registry: Registry, images: Images) -> None:
    image = images.image("app")
    signature = images.image("app", subject=image, layers=1)
    images.image("app", tag="other")
    gc(registry, delete_untagged=True)
    assert gone(registry, image)
    assert gone(registry, signature)


def test_dry_run_deletes_nothing_and_reports_what_a_real_run_deletes(
    registry: Registry, images: Images
) -> None:
    images.image("app", tag="v1")
    doomed = images.image("app")
    before = stored(registry)
    dry = gc(registry, dry_run=True, delete_untagged=True)
    assert stored(registry) == before
    assert dry.dry_run
    real = gc(registry, delete_untagged=True)
    assert dry.deletions == real.deletions
    assert gone(registry, doomed)


def test_a_plan_is_applied_after_revalidation(registry: Registry, images: Images) -> None:
    images.image("app", tag="v1")
    first = images.image("app")
    second = images.image("app")
    plan = GCReport.from_json(gc(registry, dry_run=True, delete_untagged=True).dumps())
    registry.repository("app").tags.tag("rescued", second.digest)  # no longer garbage
    report = gc(registry, delete_untagged=True, plan=plan)
    assert gone(registry, first)
    assert whole(registry, second)
    assert any("no longer garbage" in note for note in report.notes)


def test_young_content_is_protected_by_the_grace_period(registry: Registry, images: Images) -> None:
    images.image("app", tag="v1")
    orphan_data = b"a layer of a push still in progress"
    upload = registry.repository("app").uploads.create()
    upload.write(orphan_data)
    upload.commit(Digest.of(orphan_data))
    untagged = images.image("app")  # e.g. an index child pushed before its index
    report = collect_garbage(registry, delete_untagged=True, grace_period=3600)
    assert Digest.of(orphan_data) in stored(registry)
    assert whole(registry, untagged)
    assert report.deletions == []
    gc(registry, delete_untagged=True)
    assert Digest.of(orphan_data) not in stored(registry)
    assert gone(registry, untagged)


def test_report_json_and_summary(registry: Registry, images: Images) -> None:
    images.image("app", tag="v1")
    images.image("app")
    report = gc(registry, delete_untagged=True, dry_run=True)
    body = report.to_json()
    assert body["manifests_deleted"] == 1
    assert body["blobs_deleted"] == 4
    assert body["bytes_freed"] == sum(d["size"] for d in body["deletions"])
    assert {d["reason"] for d in body["deletions"]} >= {"untagged", "unreferenced"}
    assert report.summary() == "4 blobs marked, 4 blobs and 1 manifests eligible for deletion"
    assert GCReport.from_json(report.dumps()).deletions == report.deletions


def test_report_text_is_the_json_object_with_a_line_per_deletion(
    registry: Registry, images: Images
) -> None:
    images.image("app", tag="v1")
    images.image("app")
    report = gc(registry, delete_untagged=True, dry_run=True)
    report.notes.append('a "quoted" note')
    text = report.dumps()
    assert json.loads(text) == report.to_json()
    rows = [line.strip().rstrip(",") for line in text.splitlines() if '"kind":' in line]
    assert [json.loads(row) for row in rows] == report.to_json()["deletions"]
    assert len(rows) == len(report.deletions) == 4 + 1 + 3  # blobs, the manifest, its links
    report.deletions = []
    assert json.loads(report.dumps()) == report.to_json()
    assert json.loads(report.dumps())["deletions"] == []
    body = report.to_json()
    body["notes"].append("changed")  # the object is a copy: the report stays as it was
    assert report.notes == ['a "quoted" note']


def _push_blob(registry: Registry, name: str, data: bytes) -> Digest:
    upload = registry.repository(name).uploads.create()
    upload.write(data)
    return upload.commit(Digest.of(data)).digest


def test_an_emptied_layer_link_directory_keeps_nothing_and_goes(
    registry: Registry, images: Images, driver: Any
) -> None:
    keep = images.image("app", tag="v1")
    unlinked = _push_blob(registry, "app", b"a layer whose link distribution deleted")
    driver.delete(layer_link_path("app", unlinked))  # the filesystem keeps the directory
    link_directory = layer_link_path("app", unlinked).rsplit("/", 1)[0]
    # Only where a directory's time is its latest change may GC take it for its link.
    by_directory = Capability.DIRECTORY_TIMES in driver.capabilities
    layers = scan_repositories(driver, link_directories=True)["app"].layers
    assert (unlinked in layers) is by_directory
    gc(registry)
    assert unlinked not in stored(registry)
    assert whole(registry, keep)
    if by_directory:
        assert not driver_has(driver, link_directory)  # taken for a link, and removed
    else:
        assert driver.list(link_directory) == []  # left as distribution leaves it


def test_a_young_layer_link_directory_keeps_its_blob(tmp_path: Any) -> None:
    # GC takes a layer's directory for its link without listing it; the directory's time
    # is at least its link's, so the grace period keeps no less than it would by the link.
    import os
    import time

    root = tmp_path / "store"
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    blob = _push_blob(registry, "app", b"pushed a while ago, relinked just now")
    old = time.time() - 7200
    local = str(root) + layer_link_path("app", blob)
    for path in (str(root) + blob_data_path(blob), local):
        os.utime(path, (old, old))
    report = gc(registry, grace_period=3600)
    assert blob in stored(registry), "the directory is young: kept"
    assert report.kept_by_grace_period == 0  # kept as a young link, not as a young blob
    os.utime(os.path.dirname(local), (old, old))
    gc(registry, grace_period=3600)
    assert blob not in stored(registry)


def test_tags_named_like_reserved_directories_are_tags(registry: Registry, images: Images) -> None:
    """``_uploads`` and ``_layers`` are valid tags: their images survive ``-m``, and the
    history of such a tag is seen (its entry for a deleted manifest goes)."""
    uploads = images.image("app", tag="_uploads")
    retagged_away = images.image("app", tag="_layers")
    layers = images.image("app", tag="_layers")  # "_layers" now names this one
    history = registry.repository("app").tags.history
    assert retagged_away.digest in history("_layers")
    gc(registry, delete_untagged=True)
    assert whole(registry, uploads) and whole(registry, layers)
    assert gone(registry, retagged_away, shared=frozenset(layers.blobs))
    assert history("_layers") == [layers.digest]
    assert history("_uploads") == [uploads.digest]


def test_a_tag_directory_without_its_link_names_nothing(
    registry: Registry, images: Images, driver: Any
) -> None:
    """GC may take a tag's ``current`` directory for its link without listing it (on a
    filesystem); a directory whose link is gone still tags nothing."""
    kept = images.image("app", tag="v1")
    untagged = images.image("app", tag="gone")
    driver.delete(tag_current_link_path("app", "gone"))  # the filesystem keeps the directory
    gc(registry, delete_untagged=True)
    assert whole(registry, kept)
    assert gone(registry, untagged)


class _CountingSweeps(InMemoryDriver):
    """An in-memory store that asks for three delete threads and counts its batches."""

    delete_concurrency = 3

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self._counting = threading.Lock()  # not ``_lock``: that is the driver's own

    def delete_files(self, paths: Iterable[str]) -> list[str]:
        with self._counting:
            self.batches += 1
        return super().delete_files(paths)


@pytest.mark.parametrize(("workers", "batches"), [(None, 3), (5, 5), (1, 1)])
def test_the_sweep_runs_on_the_drivers_delete_concurrency_unless_workers_are_given(
    workers: int | None, batches: int
) -> None:
    # GC cuts each kind of deletion into one batch per sweeping thread: here two kinds, the
    # blobs' layer links and the blobs.
    driver = _CountingSweeps()
    registry = Registry(driver)
    orphans = [_push_blob(registry, "app", b"orphan %d" % number) for number in range(30)]
    report = gc(registry, workers=workers)
    assert {d.digest for d in report.deletions if d.kind == "blob"} == {str(d) for d in orphans}
    assert driver.batches == 2 * batches
    assert not stored(registry) & set(orphans)

"""GC beside a registry deleting manifests, on every driver: the tagged image stays whole.

The reproduction of a data loss: one repository with a tagged image and many untagged
manifests, all older than the grace period; while GC runs, the untagged manifests are
deleted through ``Repository.manifests.delete``. A filesystem walk once turned one entry
that vanished mid-listing into "the whole directory is missing", GC saw no revisions, and
deleted every blob of the tagged image. Here the deletes are made at decided moments --
while GC's walk of ``repositories/`` is in the middle of the revisions, and between GC's
inventory and its re-check -- through a driver wrapper, not by racing threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.backends import DRIVERS
from support.images import Image, Images

from distribution_storage.driver import DelegatingDriver, FileInfo, StorageDriver, WalkPrune
from distribution_storage.driver.paths import ROOT
from distribution_storage.gc import collect_garbage
from distribution_storage.layout import REPOSITORIES_ROOT, Digest
from distribution_storage.registry import Registry

UNTAGGED = 60


class DeletesMidWalk(DelegatingDriver):
    """Runs ``action`` once, when a walk below ``repositories/`` has yielded its
    ``after``-th revision link (the walk is suspended meanwhile), and again when the second
    scan of ``repositories/`` begins (GC's re-check)."""

    def __init__(self, inner: StorageDriver, action: Callable[[], None], after: int) -> None:
        super().__init__(inner)
        self.action = action
        self.after = after
        self.walks = 0
        self.fired: list[str] = []

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        walk = self.inner.walk(path, start_after=start_after, prune=prune, details=details)
        if not path.startswith(REPOSITORIES_ROOT) or start_after is not None:
            return walk
        if path == REPOSITORIES_ROOT:  # a scan of every repository begins
            self.walks += 1
            if self.walks == 2 and "mid-walk" in self.fired:
                self.fired.append("recheck")
                self.action()
        return self._watch(walk)

    def _watch(self, walk: Iterator[FileInfo]) -> Iterator[FileInfo]:
        seen = 0
        for info in walk:
            yield info
            if "/_manifests/revisions/" in info.path and info.path.endswith("/link"):
                seen += 1
                if seen == self.after and "mid-walk" not in self.fired:
                    self.fired.append("mid-walk")
                    self.action()


@pytest.mark.parametrize("backend", DRIVERS)
def test_gc_beside_manifest_deletes_keeps_the_tagged_image_whole(
    backend: str, open_backend: Callable[[str], StorageDriver]
) -> None:
    driver = open_backend(backend)
    registry = Registry(driver)
    images = Images(registry)
    tagged = images.image("app", tag="v1", layers=3)
    untagged: list[Image] = [images.image("app", layers=1) for _ in range(UNTAGGED)]
    repo = registry.repository("app")
    batches = iter([untagged[: UNTAGGED // 2], untagged[UNTAGGED // 2 :]])

    def delete_a_batch() -> None:
        for image in next(batches, []):
            repo.manifests.delete(image.digest)

    watched = DeletesMidWalk(driver, delete_a_batch, after=UNTAGGED // 3)
    later = datetime.now(UTC) + timedelta(hours=2)  # everything is two hours old then
    report = collect_garbage(watched, delete_untagged=True, now=later, workers=2)
    assert watched.fired == ["mid-walk", "recheck"], "the deletes did not run when decided"
    stored = {blob.digest for blob in registry.blobs}
    keep: set[Digest] = {tagged.digest, *tagged.blobs}
    assert keep <= stored, f"GC deleted {len(keep - stored)} blobs of the tagged image"
    assert repo.tags.get("v1") == tagged.digest
    assert repo.manifests.get(tagged.digest).digest == tagged.digest
    assert report.blobs_marked >= len(keep)
    gone = {image.digest for image in untagged} - stored
    assert gone, "GC deleted none of the untagged manifests: it proved nothing"

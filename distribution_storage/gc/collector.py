"""Garbage collection end to end: inventory, mark, re-check, sweep.

1. **Inventory**: one walk of ``blobs/`` and one of ``repositories/`` (see
   :mod:`distribution_storage.inventory`) -- flat listings on object stores, no per-blob stat.
2. **Mark** every repository in a bounded thread pool (:mod:`distribution_storage.gc.mark`).
   Layer links and revision links younger than the grace period keep their blobs; so do blobs
   younger than it. Any read error stops the run here, before anything is deleted, and so
   does a listing whose absences a second look contradicts
   (:mod:`distribution_storage.gc.crosscheck`).
3. **Re-check**: the repositories are walked again, and the two listings must add up (what
   vanished is gone, what appeared is younger than the grace period), or GC stops. Any
   repository whose links changed since step 1 (a push, a retag) is marked again, so content
   a push referenced meanwhile is not deleted. A grace period of 0 turns every protection
   for a running registry off: the registry must then be read-only, as distribution
   requires, and anything the second listing shows that the first did not stops the run.
4. **Sweep** (unless a dry run): manifest revisions and their tag-history entries first, then
   layer links, then blobs -- so a crash midway leaves only unreferenced blobs behind, never a
   link to a missing blob. The inventory listed the exact files, so they are deleted with
   ``delete_files`` (a thousand keys per request on S3, no listing), in batches spread over
   the pool.

What the grace period protects: a push in progress (its blobs and links are young), a
manifest pushed untagged before its index, and any reference written between the inventory
and the re-check. What it does not: an *old* blob that becomes referenced again after the
re-check and before its deletion (a window of one sweep); run GC with the registry read-only
for a guarantee, as distribution requires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from distribution_storage.driver.contract import (
    DELETE_BATCH,
    StorageDriver,
    delete_workers,
    read_workers,
)
from distribution_storage.driver.errors import ListingInconsistentError
from distribution_storage.driver.middleware.metrics import CountingDriver
from distribution_storage.driver.wrapper import validated
from distribution_storage.gc.mark import ManifestCache, RepositoryMark, mark_repository
from distribution_storage.gc.report import Deletion, GarbageCollectionError, GCReport
from distribution_storage.inventory import (
    BlobRecord,
    RepositoryInventory,
    blob_record,
    compare_scans,
    require_registry_store,
    scan_blob_digests,
    scan_repositories,
)
from distribution_storage.layout import (
    REPOSITORIES_ROOT,
    Digest,
    DigestTable,
    blob_data_path,
    layer_link_path,
    manifest_revision_link_path,
    tag_index_link_path,
)
from distribution_storage.progress import Progress, ProgressUpdate, no_progress
from distribution_storage.registry.registry import Registry
from distribution_storage.threads import even_batches, map_threaded

DEFAULT_GRACE_PERIOD = 3600.0
"""Seconds: nothing younger than an hour is deleted unless the caller says otherwise."""
DEFAULT_WORKERS = 8
"""Threads (concurrent requests) when the caller names no number; a driver may ask for more
to delete on (:attr:`~distribution_storage.driver.contract.StorageDriver.delete_concurrency`)."""


def collect_garbage(
    target: Registry | StorageDriver,
    *,
    dry_run: bool = False,
    delete_untagged: bool = False,
    grace_period: float = DEFAULT_GRACE_PERIOD,
    keep_referrers: bool = True,
    workers: int | None = None,
    skip_repositories: Iterable[str] = (),
    plan: GCReport | None = None,
    progress: Progress = no_progress,
    now: datetime | None = None,
) -> GCReport:
    """Mark and sweep the store; returns what was (or, with ``dry_run``, would be) deleted.

    ``grace_period`` (seconds, 0 to turn off) protects everything younger; ``keep_referrers``
    keeps untagged manifests whose OCI subject survives; ``skip_repositories`` names
    repositories to leave untouched (everything they link is kept) when they cannot be read;
    ``plan`` restricts the deletions to those of an earlier dry run's report, re-validated
    now. ``workers`` is how many threads read and delete at once (reads bounded by the
    driver's ``read_concurrency``); left None, :data:`DEFAULT_WORKERS`, and for the sweep the
    driver's ``delete_concurrency`` where it gives one. Raises
    :class:`GarbageCollectionError` before deleting anything if the store cannot be read
    completely.
    """
    started = time.monotonic()
    chosen_workers = workers  # None lets the driver pick the sweep's threads
    workers = DEFAULT_WORKERS if workers is None else workers
    driver = target.driver if isinstance(target, Registry) else validated(target)
    counting = CountingDriver(driver)
    clock = now or datetime.now(UTC)
    horizon = clock - timedelta(seconds=grace_period)

    def is_young(mod_time: datetime) -> bool:
        return grace_period > 0 and mod_time > horizon

    report = GCReport(
        dry_run=dry_run, delete_untagged=delete_untagged, grace_period_seconds=grace_period
    )
    skipped = set(skip_repositories)
    phase = time.monotonic()

    def lap(name: str) -> None:
        nonlocal phase
        report.phase_seconds[name] = round(time.monotonic() - phase, 3)
        phase = time.monotonic()

    require_registry_store(counting)
    digests = DigestTable()  # one object per digest, for the blobs, links and manifests
    with _listing_stops_gc():
        blobs = scan_blob_digests(counting, progress=progress, workers=workers, digests=digests)
        repositories = scan_repositories(
            counting,
            link_directories=True,
            times=grace_period > 0,  # no time is compared without a grace period
            progress=progress,
            workers=workers,
            digests=digests,
        )
    cache = ManifestCache(counting, blobs, digests)
    lap("inventory")

    def mark_all(names: Sequence[str]) -> dict[str, RepositoryMark]:
        def one(name: str) -> RepositoryMark:
            repo = repositories[name]
            if name in skipped:
                return _keep_everything(repo)
            return mark_repository(
                counting,
                repo,
                blobs,
                cache,
                delete_untagged=delete_untagged,
                keep_referrers=keep_referrers,
                is_young=is_young,
            )

        results: dict[str, RepositoryMark] = {}
        marks = map_threaded(one, names, read_workers(counting, workers))
        for index, mark in enumerate(marks, 1):
            results[mark.name] = mark
            progress(ProgressUpdate("marking repositories", index, len(names)))
        return results

    marks = mark_all(list(repositories))
    lap("mark")
    with _listing_stops_gc():
        changed = _recheck(
            counting, repositories, digests, progress, workers, is_young, times=grace_period > 0
        )
    if changed:
        marks.update(mark_all(changed))
    lap("recheck")

    marked: set[Digest] = set()
    for mark in marks.values():
        marked |= mark.marked
        report.notes.extend(mark.notes)
    for repo in repositories.values():
        marked.update(d for d, mod_time in repo.layers.items() if is_young(mod_time))

    candidates = _unmarked_blobs(counting, blobs, marked, workers)
    doomed = _plan_deletions(repositories, marks, candidates, marked, is_young, report)
    if plan is not None:
        allowed = set(plan.deletions)
        for stale in sorted(allowed - {item.deletion for item in doomed}):
            where = f"{stale.repository} " if stale.repository else ""
            report.notes.append(f"planned {stale.kind} {where}{stale.digest} is no longer garbage")
        doomed = [item for item in doomed if item.deletion in allowed]
    report.deletions = sorted(item.deletion for item in doomed)
    report.repositories = sum(1 for repo in repositories.values() if repo.has_manifests)
    report.manifests = sum(len(repo.revisions) for repo in repositories.values())
    report.blobs = len(blobs)
    report.blobs_marked = len(marked & set(blobs))
    if not dry_run:
        _sweep(counting, doomed, delete_workers(counting, chosen_workers, workers), progress)
        lap("sweep")
    report.operations = counting.snapshot()
    report.seconds = round(time.monotonic() - started, 3)
    return report


@contextmanager
def _listing_stops_gc() -> Iterator[None]:
    """A listing that did not add up stops GC, before anything is deleted."""
    try:
        yield
    except ListingInconsistentError as exc:
        raise GarbageCollectionError(str(exc)) from exc


def _keep_everything(repo: RepositoryInventory) -> RepositoryMark:
    mark = RepositoryMark(repo.name, survivors=set(repo.revisions))
    mark.marked = set(repo.revisions) | set(repo.layers)
    for history in repo.tag_history.values():
        mark.marked |= history
    mark.notes.append(f"{repo.name}: skipped on request; everything it links is kept")
    return mark


def _recheck(
    driver: StorageDriver,
    repositories: dict[str, RepositoryInventory],
    digests: DigestTable,
    progress: Progress,
    workers: int,
    is_young: Callable[[datetime], bool],
    *,
    times: bool,
) -> list[str]:
    """Walk the repositories again, check that the two listings add up, and update and
    return the repositories whose links changed.

    The second walk is the inventory's second view: what vanished from it must be gone,
    what appeared must be young (see :mod:`distribution_storage.gc.crosscheck`).
    """
    fresh = scan_repositories(
        driver,
        link_directories=True,
        times=times,
        # Without a grace period nothing young is kept, so only the roots are compared.
        roots_only=not times,
        progress=progress,
        workers=workers,
        digests=digests,
    )
    compare_scans(driver, repositories, fresh, is_young, REPOSITORIES_ROOT, layers=times)
    if not times:
        return []  # the registry is read-only: nothing to mark again
    changed = []
    for name, repo in fresh.items():
        old = repositories.get(name)
        if old is None or (old.revisions, old.tags, old.layers) != (
            repo.revisions,
            repo.tags,
            repo.layers,
        ):
            repositories[name] = repo
            changed.append(name)
    return changed


@dataclass(frozen=True, slots=True)
class _Doomed:
    """A deletion with what names its files: the digest, and for a manifest the tags whose
    history lists it. The paths are made only when the deletion runs (:meth:`paths`), so a
    plan of millions of deletions holds no path strings."""

    deletion: Deletion
    digest: Digest
    tags: tuple[str, ...] = ()

    def paths(self) -> list[str]:
        """The files to delete: a revision link and the tag history entries naming it, a
        layer link, or a blob's data."""
        repository, kind = self.deletion.repository, self.deletion.kind
        if kind == "blob":
            return [blob_data_path(self.digest)]
        if kind == "layer-link":
            return [layer_link_path(repository, self.digest)]
        return [
            manifest_revision_link_path(repository, self.digest),
            *(tag_index_link_path(repository, tag, self.digest) for tag in self.tags),
        ]


def _plan_deletions(
    repositories: dict[str, RepositoryInventory],
    marks: dict[str, RepositoryMark],
    candidates: list[BlobRecord],
    marked: set[Digest],
    is_young: Callable[[datetime], bool],
    report: GCReport,
) -> list[_Doomed]:
    doomed: list[_Doomed] = []
    for name, mark in marks.items():
        repo = repositories[name]
        for digest, reason in mark.doomed.items():
            tags = tuple(tag for tag, history in repo.tag_history.items() if digest in history)
            deletion = Deletion("manifest", str(digest), name, reason=reason)
            doomed.append(_Doomed(deletion, digest, tags))
        for digest in repo.layers:
            if digest not in marked:
                deletion = Deletion("layer-link", str(digest), name, reason="blob not referenced")
                doomed.append(_Doomed(deletion, digest))
    for record in candidates:
        if is_young(record.mod_time):
            report.kept_by_grace_period += 1
            continue
        deletion = Deletion("blob", str(record.digest), size=record.size, reason="unreferenced")
        doomed.append(_Doomed(deletion, record.digest))
    return doomed


def _unmarked_blobs(
    driver: StorageDriver,
    blobs: Mapping[Digest, BlobRecord | None],
    marked: set[Digest],
    workers: int,
) -> list[BlobRecord]:
    """The records of the blobs nothing marked, by digest; those the inventory listed
    without one are read now (a blob directory with no data is no blob)."""
    records = []
    unread = []
    for digest, record in blobs.items():
        if digest in marked:
            continue
        if record is None:
            unread.append(digest)
        else:
            records.append(record)
    read = map_threaded(partial(blob_record, driver), unread, read_workers(driver, workers))
    records.extend(record for record in read if record)
    return sorted(records, key=lambda record: record.digest)


def _sweep(driver: StorageDriver, doomed: list[_Doomed], workers: int, progress: Progress) -> None:
    """Delete manifests, then layer links, then blobs, each kind in batches on ``workers``
    threads; progress counts deletions."""
    by_kind: dict[str, list[_Doomed]] = {"manifest": [], "layer-link": [], "blob": []}
    for item in doomed:
        by_kind[item.deletion.kind].append(item)
    done = 0
    for phase, items in (
        ("deleting manifests", by_kind["manifest"]),
        ("deleting layer links", by_kind["layer-link"]),
        ("deleting blobs", by_kind["blob"]),
    ):
        batches = even_batches(items, workers, DELETE_BATCH)
        progress(ProgressUpdate(phase, done, len(doomed)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for batch in pool.map(_delete_batch(driver), batches):
                done += batch
                progress(ProgressUpdate(phase, done, len(doomed)))


def _delete_batch(driver: StorageDriver) -> Callable[[Sequence[_Doomed]], int]:
    def run(items: Sequence[_Doomed]) -> int:
        # The inventory listed these exact files, so no listing is needed to delete them;
        # one that is already gone is the outcome we want.
        driver.delete_files([path for item in items for path in item.paths()])
        return len(items)

    return run


__all__ = ["DEFAULT_GRACE_PERIOD", "GarbageCollectionError", "collect_garbage"]

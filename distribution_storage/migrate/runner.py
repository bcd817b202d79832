"""Migration end to end: list both stores, copy blobs, then links, then (if asked) delete.

1. **List** source and target (:mod:`.plan`): two walks each, no per-object request.
2. **Blobs** missing from the target (or there with another size) are copied by ``workers``
   threads, each verified against its digest (:mod:`.copy`). A blob whose content does not
   match is reported in ``failures`` and not copied; any other error (the source or target
   failing) stops the run, and what was verified and committed so far stays.
3. **Repository files** (layer links, revision links, tag index links, then tag links, and
   uploads when asked) are read from the source; those the target already holds with the
   same bytes are skipped. A link is written only if the blob it names is in the target, so
   an interrupted run never leaves a link to a missing blob.
4. **Extraneous** target objects (``delete_extraneous``): links first, then blobs.
5. **Verify** (:mod:`.verify`): fresh listings of both sides; the run is complete only if
   the target holds every source object. What it lacks is in ``report.missing``.

A second run finds everything present and copies nothing; an interrupted run, run again,
copies what is missing. A dry run lists, reads links to compare them, and writes nothing.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from distribution_storage.driver.contract import DELETE_BATCH, StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.middleware.metrics import CountingDriver
from distribution_storage.driver.paths import parent_of
from distribution_storage.driver.wrapper import validated
from distribution_storage.inventory import BlobRecord
from distribution_storage.layout import (
    Digest,
    DigestInvalidError,
    blob_dir_path,
    parse_link,
    repository_path,
)
from distribution_storage.migrate.copy import BlobCopier, VerificationError, bottom, remove_staging
from distribution_storage.migrate.identity import check_distinct
from distribution_storage.migrate.plan import (
    BLOB,
    COPY_ORDER,
    LINK_KINDS,
    Plan,
    RepoFile,
    StoreListing,
    list_store,
    make_plan,
)
from distribution_storage.migrate.report import Failure, MigrationError, MigrationReport
from distribution_storage.migrate.verify import missing_from_target
from distribution_storage.progress import Progress, ProgressUpdate, no_progress
from distribution_storage.registry.registry import Registry
from distribution_storage.threads import even_batches

DEFAULT_WORKERS = 8
T = TypeVar("T")


def _driver(side: Registry | StorageDriver) -> StorageDriver:
    return side.driver if isinstance(side, Registry) else validated(side)


def migrate(
    source: Registry | StorageDriver,
    target: Registry | StorageDriver,
    *,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    include_uploads: bool = False,
    delete_extraneous: bool = False,
    server_side_copy: bool = True,
    progress: Progress = no_progress,
) -> MigrationReport:
    """Copy the registry store behind ``source`` into ``target``, verified and incremental.

    Returns a :class:`MigrationReport` (with ``dry_run``, what would be done). Raises
    :class:`SameStoreError` for one store given twice, :class:`MigrationError` for a source
    holding no registry data, and the driver's error when a backend fails midway (run again
    to resume). ``workers`` transfers run at once; ``include_uploads`` copies abandoned
    uploads too; ``delete_extraneous`` removes what the source lacks from the target;
    ``server_side_copy`` allows a target's ``copy_from`` (see :mod:`.copy`).
    """
    if workers < 1:
        raise MigrationError(f"workers must be at least 1, not {workers}")
    started = time.monotonic()
    src, dst = CountingDriver(_driver(source)), CountingDriver(_driver(target))
    check_distinct(src, dst)
    report = MigrationReport(dry_run=dry_run)
    listing = list_store(src, include_uploads=include_uploads, progress=progress)
    if listing.empty:
        raise MigrationError(
            "the source holds no registry data (nothing under blobs/ or repositories/): "
            f"{bottom(src)!r}"
        )
    target_listing = list_store(dst, include_uploads=include_uploads, progress=progress)
    plan = make_plan(listing, target_listing, delete_extraneous=delete_extraneous)
    run = _Run(src, dst, report, workers=workers, dry_run=dry_run, progress=progress)
    try:
        run.blobs(plan, server_side_copy=server_side_copy)
        run.files(plan, listing, target_listing)
        if delete_extraneous:
            run.delete(plan, listing)
        if not dry_run:
            remove_staging(dst)
            report.missing = missing_from_target(
                src,
                dst,
                include_uploads=include_uploads,
                excused=(failure.path for failure in report.failures),
            )
            report.verified = not report.missing
    finally:
        report.operations = {"source": src.snapshot(), "target": dst.snapshot()}
        report.seconds = round(time.monotonic() - started, 3)
    return report


class _Run:
    """The state of one migration: drivers, report, pool size and progress counters."""

    def __init__(
        self,
        source: StorageDriver,
        target: StorageDriver,
        report: MigrationReport,
        *,
        workers: int,
        dry_run: bool,
        progress: Progress,
    ) -> None:
        self.source = source
        self.target = target
        self.report = report
        self.workers = workers
        self.dry_run = dry_run
        self.progress = progress
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.bytes_done = 0
        self.copied_blobs: set[Digest] = set()

    def _on_bytes(self, count: int) -> None:
        with self.lock:
            self.bytes_done += count

    def _parallel(
        self,
        items: Sequence[T],
        action: Callable[[T], None],
        phase: str,
        *,
        total_bytes: int = 0,
    ) -> None:
        """Run ``action`` on every item in the pool; the first unexpected error stops all.

        Progress reports items and bytes done, with an estimate of the time left when
        ``total_bytes`` is known.
        """
        done = 0
        total = len(items)
        started, first_bytes = time.monotonic(), self.bytes_done
        waiting = iter(items)
        pending: set[Future[None]] = set()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            try:
                while True:
                    # a bounded window of submitted tasks, however many items there are
                    for item in itertools.islice(waiting, self.workers * 4 - len(pending)):
                        pending.add(pool.submit(action, item))
                    if not pending:
                        return
                    finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in finished:
                        error = future.exception()
                        if error is not None:
                            raise error
                        done += 1
                    with self.lock:
                        bytes_done = self.bytes_done
                    detail = _estimate(
                        bytes_done - first_bytes, total_bytes, time.monotonic() - started
                    )
                    self.progress(ProgressUpdate(phase, done, total, bytes_done, detail))
            except BaseException:
                # an error, or Ctrl-C: transfers under way stop at their next chunk
                self.stop.set()
                for other in pending:
                    other.cancel()
                raise

    def blobs(self, plan: Plan, *, server_side_copy: bool) -> None:
        """Copy (or count, in a dry run) the blobs the target lacks."""
        for _record in plan.blobs_present:
            self.report.count_skipped(BLOB)
        if self.dry_run:
            for record in plan.blobs_to_copy:
                self.report.count_copied(BLOB, record.size)
            return
        copier = BlobCopier(
            self.source,
            self.target,
            stop=self.stop,
            on_bytes=self._on_bytes,
            server_side=server_side_copy,
        )

        def one(record: BlobRecord) -> None:
            try:
                copier.copy(record)
            except VerificationError as exc:
                self._fail(BLOB, str(record.digest), exc.detail)
                return
            except PathNotFoundError:
                self._vanished(BLOB, str(record.digest))
                return
            with self.lock:
                self.report.count_copied(BLOB, record.size)
                self.copied_blobs.add(record.digest)

        self._parallel(
            plan.blobs_to_copy,
            one,
            "copying blobs",
            total_bytes=sum(record.size for record in plan.blobs_to_copy),
        )
        self.report.server_side_copies = copier.server_side_copies

    def _vanished(self, kind: str, path: str) -> None:
        """An object listed in the source was gone when read (a live registry deleted it)."""
        with self.lock:
            self.report.vanished += 1
            self.report.notes.append(f"{kind} {path} vanished from the source; not copied")

    def _fail(self, kind: str, path: str, reason: str) -> None:
        with self.lock:
            self.report.failures.append(Failure(kind, path, reason))

    def files(self, plan: Plan, listing: StoreListing, target: StoreListing) -> None:
        """Copy the repository files the target lacks or holds with other bytes."""
        present = set(target.blobs) | self.copied_blobs
        if self.dry_run:
            present |= set(listing.blobs)
        for item in plan.files_present:
            self.report.count_skipped(item.kind)
        compare = {item.path for item in plan.files_to_compare}
        items = plan.files_to_copy + plan.files_to_compare

        def one(item: RepoFile) -> None:
            try:
                data = self.source.get_content(item.path)
            except PathNotFoundError:
                self._vanished(item.kind, item.path)
                return
            if item.path in compare and self._same(item.path, data):
                with self.lock:
                    self.report.count_skipped(item.kind)
                return
            if item.kind in LINK_KINDS:
                digest = _link_digest(data)
                if digest is not None and digest not in present:
                    self._fail(item.kind, item.path, f"links {digest}, which is not in the target")
                    return
            if not self.dry_run:
                self.target.put_content(item.path, data)
            with self.lock:
                self.report.count_copied(item.kind, len(data))
                self.bytes_done += len(data)

        # Links must land in order (a tag after its revision): one kind at a time.
        for kind in COPY_ORDER:
            if of_kind := [item for item in items if item.kind == kind]:
                self._parallel(of_kind, one, f"copying {kind}s")

    def _same(self, path: str, data: bytes) -> bool:
        try:
            return self.target.get_content(path) == data
        except PathNotFoundError:
            return False

    def delete(self, plan: Plan, listing: StoreListing) -> None:
        """Remove what the source lacks from the target: links first, then blobs.

        A link goes with its directory; a tag the source does not have at all goes whole
        (``current`` and ``index``), so the registry does not list it any more.
        """
        source_tags = {_tag_dir(path) for path in listing.files} - {None}
        paths: list[str] = []
        for name in plan.extraneous_repositories:
            self.report.count_deleted("repository")
            paths.append(repository_path(name))
        for item in plan.extraneous_files:
            self.report.count_deleted(item.kind)
            tag = _tag_dir(item.path)
            if tag is not None and tag not in source_tags:
                paths.append(tag)
            else:
                paths.append(parent_of(item.path) if item.kind in LINK_KINDS else item.path)
        blob_paths = [blob_dir_path(record.digest) for record in plan.extraneous_blobs]
        for _ in blob_paths:
            self.report.count_deleted(BLOB)
        if self.dry_run:
            return
        for batch_paths in (sorted(set(paths)), blob_paths):
            batches = even_batches(batch_paths, self.workers, DELETE_BATCH)
            self._parallel(batches, self._delete_batch, "deleting extraneous objects")

    def _delete_batch(self, paths: Sequence[str]) -> None:
        self.target.delete_many(paths)  # an already-missing path is the outcome we want


def _estimate(done: int, total: int, elapsed: float) -> str:
    """``eta 1m05s`` from the bytes done of ``total`` so far; empty when unknown."""
    if not total or done <= 0 or elapsed <= 0:
        return ""
    left = max(total - done, 0) / (done / elapsed)
    minutes, seconds = divmod(int(left + 0.5), 60)
    return f"eta {minutes}m{seconds:02d}s"


def _tag_dir(path: str) -> str | None:
    """The ``.../_manifests/tags/<tag>`` directory ``path`` lies in, if any."""
    head, marker, rest = path.partition("/_manifests/tags/")
    if not marker or "/" not in rest:
        return None
    return f"{head}{marker}{rest.split('/', 1)[0]}"


def _link_digest(data: bytes) -> Digest | None:
    try:
        return parse_link(data)
    except DigestInvalidError:
        return None

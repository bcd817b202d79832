"""Upload purging: remove uploads abandoned for longer than an age (distribution: 168 hours).

The ``_uploads`` directories are found with one walk of ``repositories/`` that never enters
``_manifests`` or ``_layers``; each upload's age comes from its ``startedat`` file (RFC 3339),
or, when that is missing or malformed, from its data's modification time. Without a dry run,
old upload directories are deleted and the driver's ``abort_pending_uploads`` is called for
``repositories/``, so that object stores also drop their pending multipart uploads (or upload
sessions, or uncommitted blocks), which otherwise keep costing money.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.layout import REPOSITORIES_ROOT, upload_data_path, upload_started_at_path
from distribution_storage.registry.catalog import skip_reserved
from distribution_storage.registry.uploads import parse_started_at

DEFAULT_PURGE_AGE = timedelta(hours=168)
"""distribution's default ``maintenance.uploadpurging.age``."""


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """One upload found in the store."""

    name: str
    upload_id: str
    started_at: datetime
    path: str


@dataclass
class PurgeReport:
    """What a purge found old (and, without a dry run, removed)."""

    dry_run: bool
    cutoff: datetime
    purged: list[UploadRecord] = field(default_factory=list)
    kept: int = 0
    pending_aborted: int = 0


def _started_at(driver: StorageDriver, name: str, upload_id: str, now: datetime) -> datetime:
    try:
        text = driver.get_content(upload_started_at_path(name, upload_id))
        return parse_started_at(text.decode("ascii", "replace"))
    except (PathNotFoundError, ValueError):
        pass
    try:
        return driver.stat(upload_data_path(name, upload_id)).mod_time
    except PathNotFoundError:
        return now


def iter_uploads(driver: StorageDriver, *, now: datetime | None = None) -> Iterator[UploadRecord]:
    """Every upload directory in the store, with its start time."""
    now = now or datetime.now(UTC)
    prefix = REPOSITORIES_ROOT + "/"
    try:
        for info in driver.walk(REPOSITORIES_ROOT, prune=skip_reserved, details=False):
            if not info.is_dir or not info.path.endswith("/_uploads"):
                continue
            name = info.path[len(prefix) : -len("/_uploads")]
            try:
                children = driver.list(info.path)
            except PathNotFoundError:
                continue
            for child in sorted(children):
                upload_id = child.rsplit("/", 1)[1]
                yield UploadRecord(
                    name, upload_id, _started_at(driver, name, upload_id, now), child
                )
    except PathNotFoundError:
        return


def purge_uploads(
    driver: StorageDriver,
    *,
    older_than: timedelta = DEFAULT_PURGE_AGE,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PurgeReport:
    """Remove uploads started more than ``older_than`` ago; with ``dry_run`` only report them."""
    now = now or datetime.now(UTC)
    report = PurgeReport(dry_run=dry_run, cutoff=now - older_than)
    for record in iter_uploads(driver, now=now):
        if record.started_at >= report.cutoff:
            report.kept += 1
            continue
        report.purged.append(record)
        if not dry_run:
            with contextlib.suppress(PathNotFoundError):
                driver.delete(record.path)
    if not dry_run:
        report.pending_aborted = driver.abort_pending_uploads(
            REPOSITORIES_ROOT, older_than=report.cutoff
        )
    return report

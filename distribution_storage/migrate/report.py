"""What a migration did (or, in a dry run, would do): counts, bytes, failures, operations.

One :class:`MigrationReport` serves both a real run and a dry run. ``copied`` counts the
objects written to the target, ``skipped`` those already there with the right content,
``bytes`` the bytes copied, ``failed`` the objects that could not be copied (each with its
reason in ``failures``), ``vanished`` those a live registry deleted between the listing and
the copy (not failures: they are no longer part of the store); the ``*_by_kind`` maps split
them into blobs, the repositories' link kinds and uploads. It prints as one summary line or
as one JSON object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from distribution_storage.driver.errors import StorageDriverError


class MigrationError(StorageDriverError, RuntimeError):
    """The migration could not start or had to stop; the target holds nothing claimed
    complete that is not (blobs are verified, and links are written only after their blobs).
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail, driver="migrate")


class SameStoreError(MigrationError, ValueError):
    """Source and target are the same store: migrating would copy a store onto itself."""


@dataclass(frozen=True, slots=True, order=True)
class Failure:
    """One object that was not copied, and why."""

    kind: str
    path: str
    reason: str


@dataclass
class MigrationReport:
    """The outcome of one :func:`distribution_storage.migrate.migrate` run."""

    dry_run: bool = False
    copied: int = 0
    skipped: int = 0
    bytes: int = 0
    deleted: int = 0
    vanished: int = 0
    """Objects listed in the source but gone when read (deleted by a live registry)."""
    copied_by_kind: dict[str, int] = field(default_factory=dict)
    skipped_by_kind: dict[str, int] = field(default_factory=dict)
    deleted_by_kind: dict[str, int] = field(default_factory=dict)
    server_side_copies: int = 0
    failures: list[Failure] = field(default_factory=list)
    verified: bool = False
    """True when fresh listings showed every source object in the target (never on a dry run)."""
    missing: list[str] = field(default_factory=list)
    """Source objects a fresh listing of the target lacks after the copy: the run is not
    complete (see :mod:`distribution_storage.migrate.verify`)."""
    notes: list[str] = field(default_factory=list)
    operations: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        """How many objects could not be copied (see ``failures`` for each reason)."""
        return len(self.failures)

    def count_copied(self, kind: str, size: int) -> None:
        """Record one object of ``kind`` copied (or to be copied), ``size`` bytes."""
        self.copied += 1
        self.bytes += size
        self.copied_by_kind[kind] = self.copied_by_kind.get(kind, 0) + 1

    def count_skipped(self, kind: str) -> None:
        """Record one object of ``kind`` already present in the target."""
        self.skipped += 1
        self.skipped_by_kind[kind] = self.skipped_by_kind.get(kind, 0) + 1

    def count_deleted(self, kind: str) -> None:
        """Record one extraneous object of ``kind`` removed (or to be removed) from the target."""
        self.deleted += 1
        self.deleted_by_kind[kind] = self.deleted_by_kind.get(kind, 0) + 1

    def summary(self) -> str:
        """One line: what was copied, skipped, deleted and failed."""
        verb = "would copy" if self.dry_run else "copied"
        line = (
            f"{verb} {self.copied} objects ({self.bytes} bytes), skipped {self.skipped}, "
            f"failed {self.failed}"
        )
        if self.deleted:
            line += f", {'would delete' if self.dry_run else 'deleted'} {self.deleted}"
        if self.verified:
            line += ", verified complete"
        return f"{line} in {self.seconds:.1f}s"

    def incomplete(self) -> str | None:
        """One line naming what a fresh listing of the target lacks, or None."""
        if not self.missing:
            return None
        first = self.missing[0]
        return (
            f"not complete: a fresh listing of the target lacks {len(self.missing)} source "
            f"object(s), first {first} (a listing of {first.rsplit('/', 1)[0]} did not add "
            "up, or the source changed meanwhile); run again"
        )

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready object (``failed`` is a count; ``failures`` the list)."""
        return {
            "dry_run": self.dry_run,
            "copied": self.copied,
            "skipped": self.skipped,
            "bytes": self.bytes,
            "failed": self.failed,
            "deleted": self.deleted,
            "vanished": self.vanished,
            "copied_by_kind": dict(sorted(self.copied_by_kind.items())),
            "skipped_by_kind": dict(sorted(self.skipped_by_kind.items())),
            "deleted_by_kind": dict(sorted(self.deleted_by_kind.items())),
            "server_side_copies": self.server_side_copies,
            "failures": [
                {"kind": f.kind, "path": f.path, "reason": f.reason} for f in sorted(self.failures)
            ],
            "verified": self.verified,
            "missing": list(self.missing),
            "notes": list(self.notes),
            "operations": self.operations,
            "seconds": self.seconds,
        }

    def dumps(self) -> str:
        """The report as a JSON text."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

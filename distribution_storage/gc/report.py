"""What a garbage collection found and did: counts, bytes, and every deletion with its reason.

The same report serves a dry run (what *would* go) and a real run (what went), prints as
distribution's summary line or as one JSON object, and can be read back as a plan that a
later run applies after re-validating it (:meth:`GCReport.from_json`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from distribution_storage.driver.errors import StorageDriverError

DeletionKind = Literal["manifest", "layer-link", "blob"]


class GarbageCollectionError(StorageDriverError, RuntimeError):
    """GC stopped before deleting anything, for the reason given (it fails closed)."""

    def __init__(self, detail: str, *, repository: str = "", digest: str = "") -> None:
        where = " ".join(part for part in (repository, digest) if part)
        super().__init__(f"{where}: {detail}" if where else detail, driver="gc")
        self.repository = repository
        self.digest = digest


@dataclass(frozen=True, slots=True, order=True)
class Deletion:
    """One thing GC removes: a manifest revision, a layer link, or a blob."""

    kind: DeletionKind
    digest: str
    repository: str = ""
    size: int = 0
    reason: str = ""


@dataclass
class GCReport:
    """The outcome of one garbage collection."""

    dry_run: bool = False
    delete_untagged: bool = False
    grace_period_seconds: float = 0.0
    repositories: int = 0
    manifests: int = 0
    blobs: int = 0
    blobs_marked: int = 0
    kept_by_grace_period: int = 0
    deletions: list[Deletion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    operations: dict[str, int] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def _count(self, kind: DeletionKind) -> int:
        return sum(1 for deletion in self.deletions if deletion.kind == kind)

    @property
    def blobs_deleted(self) -> int:
        """Blobs deleted (or eligible, in a dry run)."""
        return self._count("blob")

    @property
    def manifests_deleted(self) -> int:
        """Manifest revisions deleted (or eligible)."""
        return self._count("manifest")

    @property
    def layer_links_deleted(self) -> int:
        """Layer links deleted (or eligible)."""
        return self._count("layer-link")

    @property
    def bytes_freed(self) -> int:
        """Bytes of the deleted blobs."""
        return sum(d.size for d in self.deletions if d.kind == "blob")

    def summary(self) -> str:
        """distribution's summary line."""
        return (
            f"{self.blobs_marked} blobs marked, {self.blobs_deleted} blobs and "
            f"{self.manifests_deleted} manifests eligible for deletion"
        )

    def lines(self) -> list[str]:
        """One line per deletion, as distribution prints them."""
        out = []
        for deletion in sorted(self.deletions):
            if deletion.kind == "blob":
                out.append(f"blob eligible for deletion: {deletion.digest}")
            elif deletion.kind == "manifest":
                out.append(
                    f"{deletion.repository}: manifest eligible for deletion: {deletion.digest}"
                )
            else:
                out.append(
                    f"{deletion.repository}: layer link eligible for deletion: {deletion.digest}"
                )
        return out

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready object."""
        body = {
            name: copy.copy(getattr(self, name))
            for name in self.__dataclass_fields__
            if name != "deletions"
        }
        names = Deletion.__dataclass_fields__
        body["deletions"] = [
            {name: getattr(deletion, name) for name in names} for deletion in sorted(self.deletions)
        ]
        body.update(
            blobs_deleted=self.blobs_deleted,
            manifests_deleted=self.manifests_deleted,
            layer_links_deleted=self.layer_links_deleted,
            bytes_freed=self.bytes_freed,
        )
        return body

    def dumps(self) -> str:
        """The report as a JSON text: indented, with one line per deletion (a million of
        them stay readable, greppable, and quick to write)."""
        body = self.to_json()
        deletions = body.pop("deletions")
        head = json.dumps(body, indent=2, sort_keys=True)
        rows = ",\n".join(f"    {json.dumps(item, sort_keys=True)}" for item in deletions)
        listing = f"[\n{rows}\n  ]" if rows else "[]"
        return f'{head[:-2]},\n  "deletions": {listing}\n}}'

    @classmethod
    def from_json(cls, text: str) -> GCReport:
        """Read a report written by :meth:`dumps` (a plan for ``collect_garbage(plan=...)``)."""
        try:
            body = json.loads(text)
            deletions = [Deletion(**item) for item in body.get("deletions", [])]
        except (ValueError, TypeError) as exc:
            raise GarbageCollectionError(f"not a GC report: {exc}") from None
        known = {f for f in cls.__dataclass_fields__ if f != "deletions"}
        report = cls(**{k: v for k, v in body.items() if k in known})
        report.deletions = deletions
        return report

"""What fsck found: each finding with its kind, where it is, and whether it is damage.

*Damage* is anything that makes a pull fail or a tool misread the store (a corrupt blob, a
tag naming a missing manifest, a malformed link, a stray file). *Notes* are normal states
worth knowing (an abandoned upload, a blob nothing references, which GC would collect).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["damage", "note"]


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem or observation, located as precisely as the layout allows."""

    severity: Severity
    kind: str
    repository: str = ""
    digest: str = ""
    path: str = ""
    detail: str = ""

    def line(self) -> str:
        """The finding as one human-readable line."""
        where = " ".join(part for part in (self.repository, self.digest) if part)
        where = where or self.path
        return f"{self.severity}: {self.kind}: {where}: {self.detail}".rstrip(": ")


@dataclass
class FsckReport:
    """The outcome of one check."""

    repositories: int = 0
    manifests: int = 0
    blobs: int = 0
    blobs_verified: int = 0
    bytes_verified: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def damage(self) -> list[Finding]:
        """The findings that are damage."""
        return [f for f in self.findings if f.severity == "damage"]

    @property
    def notes(self) -> list[Finding]:
        """The findings that are notes."""
        return [f for f in self.findings if f.severity == "note"]

    @property
    def whole(self) -> bool:
        """True when no damage was found."""
        return not self.damage

    def kinds(self, severity: Severity | None = None) -> dict[str, int]:
        """How many findings of each kind (of one severity, if given)."""
        counts: dict[str, int] = {}
        for finding in self.findings:
            if severity is None or finding.severity == severity:
                counts[finding.kind] = counts.get(finding.kind, 0) + 1
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        """One line: what was checked and what was found."""
        state = "whole" if self.whole else f"{len(self.damage)} damage"
        return (
            f"{self.repositories} repositories, {self.manifests} manifests, {self.blobs} blobs "
            f"({self.blobs_verified} verified): {state}, {len(self.notes)} notes"
        )

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready object."""
        body = asdict(self)
        body["findings"] = [asdict(f) for f in sorted(self.findings)]
        body.update(whole=self.whole, damage=self.kinds("damage"), notes=self.kinds("note"))
        return body

    def dumps(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

"""What the contract reports about a path: :class:`FileInfo`, and the walk's prune callback.

Kept apart from :mod:`distribution_storage.driver.contract` so that the walk machinery
(:mod:`distribution_storage.driver.walking`) and the contract can both use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What ``stat`` and ``walk`` report about one path. Directories have size 0."""

    path: str
    size: int
    mod_time: datetime
    is_dir: bool


UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""The modification time ``walk`` reports when asked for no details (``details=False``) by a
driver that would pay a call per entry to learn it."""

WalkPrune = Callable[[FileInfo], bool]
"""Called with each directory ``walk`` yields; returning True skips that directory's subtree."""

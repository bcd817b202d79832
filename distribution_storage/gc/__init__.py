"""Garbage collection: a drop-in for distribution's ``registry garbage-collect``.

:func:`collect_garbage` marks what every repository's manifests reference and sweeps the
rest, correct for multi-arch images and OCI referrers, safe beside a running registry within
its grace period, and failing closed on any read error. See
:mod:`distribution_storage.gc.collector` for the phases and what the grace period protects.
"""

from distribution_storage.gc.collector import DEFAULT_GRACE_PERIOD, collect_garbage
from distribution_storage.gc.report import Deletion, GarbageCollectionError, GCReport

__all__ = [
    "DEFAULT_GRACE_PERIOD",
    "Deletion",
    "GCReport",
    "GarbageCollectionError",
    "collect_garbage",
]

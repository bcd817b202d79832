"""The driver conformance suite: every behaviour of the driver contract as inheritable tests.

A driver author validates a driver in a few lines, the way fsspec backends inherit fsspec's
abstract tests::

    import pytest
    from distribution_storage.conformance import DriverConformance, SuiteOptions

    class TestMyDriver(DriverConformance):
        options = SuiteOptions(large_size=64 * 2**20)  # optional

        @pytest.fixture
        def driver_factory(self):
            return lambda: MyDriver(...)  # a new instance over the same store at each call

The cases are mixins grouped by concern (content and paths, streams, writers, listing and
stat, move and delete, walk, concurrency, errors and capabilities, a hypothesis model test);
:class:`DriverConformance` combines them all. Quick mode (``SuiteOptions(quick=True)``, the
pytest option ``--conformance-quick`` or ``DISTRIBUTION_STORAGE_CONFORMANCE_QUICK=1``) keeps
every case at smaller sizes. :func:`run_conformance` runs the suite without a test module.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from distribution_storage.conformance.base import ConformanceBase, DriverFactory, require
from distribution_storage.conformance.options import SuiteOptions
from distribution_storage.conformance.runner import run_conformance

if TYPE_CHECKING:
    from distribution_storage.conformance.capabilities import (
        DirectoryTimeCases,
        ErrorCases,
        PendingUploadCases,
        RedirectCases,
    )
    from distribution_storage.conformance.concurrency import ConcurrencyCases
    from distribution_storage.conformance.content import ContentCases
    from distribution_storage.conformance.listing import ListingCases
    from distribution_storage.conformance.model import ModelCases
    from distribution_storage.conformance.removal import CopyCases, DeleteCases, MoveCases
    from distribution_storage.conformance.streams import StreamCases
    from distribution_storage.conformance.suite import DriverConformance
    from distribution_storage.conformance.walking import WalkCases
    from distribution_storage.conformance.writers import WriterCases

_CASES = {
    "ConcurrencyCases": "concurrency",
    "ContentCases": "content",
    "CopyCases": "removal",
    "DeleteCases": "removal",
    "DriverConformance": "suite",
    "ErrorCases": "capabilities",
    "ListingCases": "listing",
    "ModelCases": "model",
    "MoveCases": "removal",
    "DirectoryTimeCases": "capabilities",
    "PendingUploadCases": "capabilities",
    "RedirectCases": "capabilities",
    "StreamCases": "streams",
    "WalkCases": "walking",
    "WriterCases": "writers",
}


def __getattr__(name: str) -> Any:
    """Import the case classes on first use, once pytest can rewrite their assertions."""
    if name in _CASES:
        return getattr(import_module(f"{__name__}.{_CASES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConcurrencyCases",
    "ConformanceBase",
    "ContentCases",
    "CopyCases",
    "DeleteCases",
    "DirectoryTimeCases",
    "DriverConformance",
    "DriverFactory",
    "ErrorCases",
    "ListingCases",
    "ModelCases",
    "MoveCases",
    "PendingUploadCases",
    "RedirectCases",
    "StreamCases",
    "SuiteOptions",
    "WalkCases",
    "WriterCases",
    "require",
    "run_conformance",
]

"""The whole conformance suite in one class: :class:`DriverConformance`.

It combines every case mixin of the package; a driver's test module subclasses it and
provides the ``driver_factory`` fixture. It lives in its own module so that importing the
package stays light (the pytest plugin imports it at startup) and the case modules are
imported only once pytest can rewrite their assertions.
"""

from __future__ import annotations

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
from distribution_storage.conformance.walking import WalkCases
from distribution_storage.conformance.writers import WriterCases


class DriverConformance(
    ContentCases,
    StreamCases,
    WriterCases,
    ListingCases,
    MoveCases,
    DeleteCases,
    CopyCases,
    WalkCases,
    ConcurrencyCases,
    ErrorCases,
    RedirectCases,
    PendingUploadCases,
    DirectoryTimeCases,
    ModelCases,
):
    """Every conformance case; subclass it and provide a ``driver_factory`` fixture."""

"""The conformance suite, full mode, against the in-memory reference driver.

A "new instance" of the inmemory driver must see the same store, and inmemory instances do
not share their trees, so the factory returns one instance every time.
"""

from __future__ import annotations

import pytest

from distribution_storage.conformance import DriverConformance, DriverFactory
from distribution_storage.drivers.inmemory import InMemoryDriver


class TestInMemoryConformance(DriverConformance):
    """Every conformance case on :class:`InMemoryDriver`."""

    @pytest.fixture
    def driver_factory(self) -> DriverFactory:
        """One shared instance: the store lives in it."""
        shared = InMemoryDriver()
        return lambda: shared

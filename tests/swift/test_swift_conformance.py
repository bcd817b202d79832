"""The whole conformance suite against the swift driver over a real local OpenStack Swift.

Sizes are chosen so the suite runs in a few minutes: a 24 MiB large stream over 1 MiB
segments still spans many segments plus a short tail, and resumes cross segment boundaries.
The model test runs 10 examples (a real Swift answers in milliseconds, not microseconds).
"""

from __future__ import annotations

from typing import Any

import pytest

from distribution_storage.conformance import DriverConformance, DriverFactory, SuiteOptions
from distribution_storage.drivers.swift import SwiftDriver

MiB = 1 << 20


class TestSwiftConformance(DriverConformance):
    """Every conformance case, with a TempURL key so redirects are checked too."""

    options = SuiteOptions(
        large_size=24 * MiB + 1031,
        chunk_size=3 * MiB,
        concurrent_read_size=8 * MiB,
        concurrent_file_size=1 * MiB,
        concurrent_put_size=256 * 1024,
        state_machine_examples=10,
    )

    @pytest.fixture
    def driver_factory(self, swift_params: dict[str, Any]) -> DriverFactory:
        """New SwiftDriver instances over one container."""
        params = {**swift_params, "secretkey": "tempurl-secret-key"}
        return lambda: SwiftDriver.from_parameters(params)

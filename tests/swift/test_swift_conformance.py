"""The whole conformance suite against the swift driver over a real local OpenStack Swift.

Every size is the suite's full-mode default but the large stream: 64 MiB over 1 MiB segments
(65 segments and a short tail) instead of 1 GiB, so the suite runs in a couple of minutes.
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
        large_size=64 * MiB + 1031,
    )

    @pytest.fixture
    def driver_factory(self, swift_params: dict[str, Any]) -> DriverFactory:
        """New SwiftDriver instances over one container."""
        params = {**swift_params, "secretkey": "tempurl-secret-key"}
        return lambda: SwiftDriver.from_parameters(params)

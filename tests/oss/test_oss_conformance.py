"""The whole conformance suite against the oss driver over the fake OSS server.

The fake (``oss_fake``) is written from oss2's wire format; no real OSS endpoint is involved.
5 MiB parts (OSS's smallest chunksize here) with a 16 MiB large stream still span several
parts plus a short tail.
"""

from __future__ import annotations

from typing import Any

import pytest

from distribution_storage.conformance import DriverConformance, DriverFactory, SuiteOptions
from distribution_storage.drivers.oss import OSSDriver

MiB = 1 << 20


class TestOSSConformance(DriverConformance):
    """Every conformance case against one bucket of the fake."""

    options = SuiteOptions(
        large_size=16 * MiB + 1031,
        chunk_size=6 * MiB,
        concurrent_read_size=8 * MiB,
        concurrent_file_size=1 * MiB,
        concurrent_put_size=256 * 1024,
    )

    @pytest.fixture
    def driver_factory(self, oss_params: dict[str, Any]) -> DriverFactory:
        """New OSSDriver instances over one bucket."""
        return lambda: OSSDriver.from_parameters(oss_params)

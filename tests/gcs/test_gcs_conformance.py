"""The whole conformance suite against the gcs driver: fake-gcs-server, or a real bucket.

By default the suite runs against fake-gcs-server started by ``gcs_emulator``; with
``DISTRIBUTION_STORAGE_GCS_BUCKET`` set it runs against that real bucket (see docs/gcs.md).
Sizes are kept small enough that the run takes a minute or two: the chunk size is 512 KiB,
so the large stream still crosses many resumable-upload chunks.
"""

from __future__ import annotations

from typing import Any

import pytest

from distribution_storage.conformance import DriverConformance, DriverFactory, SuiteOptions
from distribution_storage.drivers.gcs import GCSDriver

MiB = 1024 * 1024


class TestGCSConformance(DriverConformance):
    """distribution's driver contract, case by case, on GCS."""

    options = SuiteOptions(
        large_size=24 * MiB + 1031,
        chunk_size=4 * MiB,
        concurrent_read_size=4 * MiB,
        concurrent_writers=8,
        concurrent_file_size=1 * MiB,
    )

    @pytest.fixture
    def driver_factory(self, gcs_target_params: dict[str, Any]) -> DriverFactory:
        return lambda: GCSDriver.from_parameters(gcs_target_params)

"""The whole conformance suite against the s3 driver: moto's server, or a real bucket.

By default the suite runs in full mode against moto's S3 server (``moto_server``); with
``DISTRIBUTION_STORAGE_S3_BUCKET`` set it runs against that real bucket (docs/s3.md). The
large stream is 128 MiB plus a tail (twelve full 10 MiB parts and a short last one, which
is what chunking bugs need) rather than 1 GiB, which keeps the run to a minute or two on two
cores; every other size is the suite's full-mode default.
"""

from __future__ import annotations

from typing import Any

import pytest

from distribution_storage.conformance import DriverConformance, DriverFactory, SuiteOptions
from distribution_storage.drivers.s3 import S3Driver

MiB = 1024 * 1024


class TestS3Conformance(DriverConformance):
    """distribution's driver contract, case by case, on S3."""

    options = SuiteOptions(large_size=128 * MiB + 1031)

    @pytest.fixture
    def driver_factory(self, s3_target_params: dict[str, Any]) -> DriverFactory:
        return lambda: S3Driver.from_parameters(s3_target_params)

"""The whole conformance suite against the oss driver over the fake OSS server.

The fake (``oss_fake``) is written from oss2's wire format; no real OSS endpoint is involved,
unless ``DISTRIBUTION_STORAGE_OSS_BUCKET`` is set: then the same suite runs against that real
bucket, with the other ``DISTRIBUTION_STORAGE_OSS_<PARAMETER>`` variables as the driver's
parameters (``ACCESSKEYID``, ``ACCESSKEYSECRET``, ``REGION``, optionally ``ENDPOINT``,
``ROOTDIRECTORY``...). Every size is the suite's full-mode default but the large stream: 64 MiB
over 5 MiB parts (12 parts and a tail) instead of 1 GiB.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from distribution_storage.conformance import DriverConformance, DriverFactory, SuiteOptions
from distribution_storage.drivers.oss import OSSDriver

MiB = 1 << 20
ENV_PREFIX = "DISTRIBUTION_STORAGE_OSS_"


def real_bucket_parameters() -> dict[str, str] | None:
    """Parameters of a real bucket from the environment, or None to use the fake."""
    if not os.environ.get(ENV_PREFIX + "BUCKET"):
        return None
    return {
        name[len(ENV_PREFIX) :].lower(): value
        for name, value in os.environ.items()
        if name.startswith(ENV_PREFIX) and value
    }


class TestOSSConformance(DriverConformance):
    """Every conformance case against one bucket of the fake."""

    options = SuiteOptions(
        large_size=64 * MiB + 1031,
    )

    @pytest.fixture
    def driver_factory(self, request: pytest.FixtureRequest) -> DriverFactory:
        """New OSSDriver instances over one bucket of the fake (or the real one)."""
        params: dict[str, Any] | None = real_bucket_parameters()
        if params is None:
            params = request.getfixturevalue("oss_params")
        return lambda: OSSDriver.from_parameters(params)

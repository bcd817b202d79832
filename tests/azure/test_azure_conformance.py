"""The whole conformance suite against the azure driver: Azurite, or a real account.

By default the suite runs against Azurite started by ``azurite``; with
``DISTRIBUTION_STORAGE_AZURE_ACCOUNT``, ``DISTRIBUTION_STORAGE_AZURE_KEY`` and
``DISTRIBUTION_STORAGE_AZURE_CONTAINER`` set it runs against that real account (see
docs/azure.md). The append cases use 4 MiB chunks, the Append Block limit, so every chunk is
exactly one append block.
"""

from __future__ import annotations

from typing import Any

import pytest

from distribution_storage.conformance import DriverConformance, DriverFactory, SuiteOptions
from distribution_storage.drivers.azure import AzureDriver

MiB = 1024 * 1024


class TestAzureConformance(DriverConformance):
    """distribution's driver contract, case by case, on Azure Blob Storage."""

    options = SuiteOptions(
        large_size=24 * MiB + 1031,
        chunk_size=4 * MiB,
        concurrent_read_size=4 * MiB,
        concurrent_writers=8,
        concurrent_file_size=1 * MiB,
    )

    @pytest.fixture
    def driver_factory(self, azure_target_params: dict[str, Any]) -> DriverFactory:
        return lambda: AzureDriver.from_parameters(azure_target_params)

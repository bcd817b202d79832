"""The filesystem driver passes the whole conformance suite, at full sizes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from distribution_storage.conformance import DriverConformance
from distribution_storage.driver import StorageDriver
from distribution_storage.drivers.filesystem import FilesystemDriver


class TestFilesystemConformance(DriverConformance):
    """Every case of the suite against a store in a temporary directory."""

    @pytest.fixture
    def driver_factory(self, tmp_path: Path) -> Callable[[], StorageDriver]:
        root = str(tmp_path / "store")
        return lambda: FilesystemDriver(root)

"""Fixtures of the migration tests: stores on the local drivers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver


@pytest.fixture
def fs_store(tmp_path: Path) -> Callable[[str], StorageDriver]:
    """Open a filesystem store in a directory of the test's temporary path."""

    def make(name: str) -> StorageDriver:
        return open_driver("filesystem", rootdirectory=str(tmp_path / name))

    return make

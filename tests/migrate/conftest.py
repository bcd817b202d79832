"""Fixtures of the migration tests: stores on the local drivers and on every object-store
service the drivers' own tests run (see ``support.backends``)."""

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


@pytest.fixture
def open_service(open_backend: Callable[[str], StorageDriver]) -> Callable[[str], StorageDriver]:
    """Open a driver on a fresh bucket of the named service (or a fresh local store)."""
    return open_backend

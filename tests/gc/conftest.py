"""Fixtures of the GC tests: a registry on each local driver and an image builder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.images import Images

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.registry import Registry


@pytest.fixture(params=["inmemory", "filesystem"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageDriver]:
    """A fresh store on each local driver."""
    if request.param == "filesystem":
        store = open_driver("filesystem", rootdirectory=str(tmp_path / "store"))
    else:
        store = open_driver("inmemory")
    yield store
    store.close()


@pytest.fixture
def registry(driver: StorageDriver) -> Registry:
    """A registry over the store."""
    return Registry(driver)


@pytest.fixture
def images(registry: Registry) -> Images:
    """The image builder over the registry."""
    return Images(registry)

"""Fixtures of the migration tests: stores on the local drivers and on every object-store
service the drivers' own tests run (see ``support.backends``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.backends import Service, backend_opener, running_services

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver


@pytest.fixture
def fs_store(tmp_path: Path) -> Callable[[str], StorageDriver]:
    """Open a filesystem store in a directory of the test's temporary path."""

    def make(name: str) -> StorageDriver:
        return open_driver("filesystem", rootdirectory=str(tmp_path / name))

    return make


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Service]]:
    """Every object-store service the other drivers' tests run, for one test module (they
    stop when it ends rather than running through the rest of the session)."""
    with running_services(tmp_path_factory) as started:
        yield started


@pytest.fixture(scope="module")
def open_backend(
    services: dict[str, Service], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], StorageDriver]]:
    """Open a driver on a fresh, empty store of the named backend: a new filesystem root,
    a new in-memory store, or a new bucket of a service. Module-scoped, so a module can keep
    stores across its tests; the services' environment is set for the whole module."""
    with backend_opener(services, tmp_path_factory) as make:
        yield make


@pytest.fixture
def open_service(open_backend: Callable[[str], StorageDriver]) -> Callable[[str], StorageDriver]:
    """Open a driver on a fresh bucket of the named service (or a fresh local store)."""
    return open_backend

"""Fixtures of the migration tests: stores on the local drivers and on every object-store
service the drivers' own tests run (see ``migrate_backends``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from migrate_backends import (
    Service,
    start_azure,
    start_gcs,
    start_oss_service,
    start_s3,
    start_swift_service,
)

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver


@pytest.fixture
def fs_store(tmp_path: Path) -> Callable[[str], StorageDriver]:
    """Open a filesystem store in a directory of the test's temporary path."""

    def make(name: str) -> StorageDriver:
        return open_driver("filesystem", rootdirectory=str(tmp_path / name))

    return make


SERVICES = ("s3", "gcs", "azure", "swift", "oss")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Service]]:
    """Every object-store service the other drivers' tests run, for one test module (they
    stop when it ends rather than running through the rest of the session)."""
    started: dict[str, Service] = {}
    try:
        started["s3"] = start_s3()
        started["gcs"] = start_gcs(tmp_path_factory.mktemp("gcs"))
        started["azure"] = start_azure(tmp_path_factory.mktemp("azurite"))
        started["swift"] = start_swift_service(tmp_path_factory.mktemp("swift"))
        started["oss"] = start_oss_service()
        yield started
    finally:
        for service in started.values():
            service.stop()


@pytest.fixture(scope="module")
def open_backend(
    services: dict[str, Service], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], StorageDriver]]:
    """Open a driver on a fresh, empty store of the named backend: a new filesystem root,
    a new in-memory store, or a new bucket of a service. Module-scoped, so a module can keep
    stores across its tests; the services' environment is set for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        for service in services.values():
            for key, value in service.environment.items():
                patch.setenv(key, value)

        def make(name: str) -> StorageDriver:
            if name == "filesystem":
                return open_driver("filesystem", rootdirectory=str(tmp_path_factory.mktemp(name)))
            if name == "inmemory":
                return open_driver("inmemory")
            return services[name].open()

        yield make


@pytest.fixture
def open_service(open_backend: Callable[[str], StorageDriver]) -> Callable[[str], StorageDriver]:
    """Open a driver on a fresh bucket of the named service (or a fresh local store)."""
    return open_backend

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


@pytest.fixture
def open_service(
    services: dict[str, Service], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], StorageDriver]:
    """Open a driver on a fresh bucket of the named service (or a local store)."""
    for service in services.values():
        for key, value in service.environment.items():
            monkeypatch.setenv(key, value)
    opened: list[StorageDriver] = []

    def make(name: str) -> StorageDriver:
        driver = open_driver("inmemory") if name == "inmemory" else services[name].open()
        opened.append(driver)
        return driver

    return make

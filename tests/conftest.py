"""Fixtures shared by test directories: every backend, on its local server.

``open_backend`` opens a driver on a fresh store of a backend named as in
:data:`support.backends.DRIVERS`; the object-store services it needs run for the test
module that asks, and stop when it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support.backends import Service, backend_opener, running_services

from distribution_storage.driver import StorageDriver


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

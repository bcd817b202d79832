"""Fixtures that run a real OpenStack Swift on 127.0.0.1 for the swift driver's tests.

``swift_server`` runs one Swift (see ``swift_support``) for the whole session and stops it
afterwards; ``swift_params`` gives each test a fresh container on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from swift_support import SwiftServer, start_swift, stop_swift


@pytest.fixture(scope="session")
def swift_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwiftServer]:
    """A real Swift for the session."""
    server = start_swift(tmp_path_factory.mktemp("swift"))
    yield server
    stop_swift(server)


@pytest.fixture
def swift_params(swift_server: SwiftServer) -> dict[str, Any]:
    """Parameters for a fresh container on the session's Swift."""
    return swift_server.parameters()


@pytest.fixture
def make_swift_driver(swift_params: dict[str, Any]) -> Callable[..., Any]:
    """Build a SwiftDriver over ``swift_params`` (overrides as keyword arguments)."""
    from distribution_storage.drivers.swift import SwiftDriver

    def make(**overrides: Any) -> SwiftDriver:
        return SwiftDriver.from_parameters({**swift_params, **overrides})

    return make

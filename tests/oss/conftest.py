"""Fixtures for the oss driver's tests: the fake OSS server (see ``oss_fake``), per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oss_support import OSSServer, start_oss


@pytest.fixture(scope="session")
def oss_server() -> Iterator[OSSServer]:
    """The fake OSS for the session, stopped afterwards."""
    server = start_oss()
    yield server
    server.fake.stop()


@pytest.fixture
def oss_params(oss_server: OSSServer) -> dict[str, Any]:
    """Parameters for a fresh bucket on the fake."""
    return oss_server.parameters()

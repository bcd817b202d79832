"""Fixtures that run moto's S3 server on 127.0.0.1 for the s3 driver's tests.

``moto_server`` starts moto's ``ThreadedMotoServer`` (a real HTTP server speaking the S3
wire protocol) on a free port for the session and stops it afterwards; a missing moto is an
import error, never a skip. ``s3_params`` makes driver parameters for a fresh bucket (strings,
as an environment override would give them). With ``DISTRIBUTION_STORAGE_S3_BUCKET`` set,
``s3_target_params`` points the conformance suite at that real bucket instead (see
docs/s3.md for the other variables).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REAL_BUCKET_ENV = "DISTRIBUTION_STORAGE_S3_BUCKET"
REAL_ENV_PARAMS = {
    "DISTRIBUTION_STORAGE_S3_REGION": "region",
    "DISTRIBUTION_STORAGE_S3_REGIONENDPOINT": "regionendpoint",
    "DISTRIBUTION_STORAGE_S3_FORCEPATHSTYLE": "forcepathstyle",
    "DISTRIBUTION_STORAGE_S3_ACCESSKEY": "accesskey",
    "DISTRIBUTION_STORAGE_S3_SECRETKEY": "secretkey",
    "DISTRIBUTION_STORAGE_S3_ROOTDIRECTORY": "rootdirectory",
}
ACCESS_KEY = "AKIDTESTING"
SECRET_KEY = "moto-secret-do-not-print"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port; yields its endpoint URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_admin(moto_server: str) -> Any:
    """A plain boto3 client on the moto server, for arranging and inspecting buckets."""
    return boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def s3_bucket(s3_admin: Any) -> str:
    """A new, empty bucket for one test."""
    name = f"ds-test-{uuid.uuid4().hex[:12]}"
    s3_admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_params(moto_server: str, s3_bucket: str) -> Callable[..., dict[str, Any]]:
    """Make distribution parameters (string values) for the test's bucket on moto."""

    def make(**overrides: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "bucket": s3_bucket,
            "region": "us-east-1",
            "regionendpoint": moto_server,
            "forcepathstyle": "true",
            "accesskey": ACCESS_KEY,
            "secretkey": SECRET_KEY,
            "secure": "false",
        }
        params.update(overrides)
        return params

    return make


@pytest.fixture
def s3_target_params(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Parameters of the store the conformance suite runs against: real bucket or moto."""
    bucket = os.environ.get(REAL_BUCKET_ENV)
    if bucket:
        params: dict[str, Any] = {"bucket": bucket, "rootdirectory": "distribution-storage-ci"}
        for env, key in REAL_ENV_PARAMS.items():
            if os.environ.get(env):
                params[key] = os.environ[env]
        return params
    make: Callable[..., dict[str, Any]] = request.getfixturevalue("s3_params")
    return make(rootdirectory="conformance-root")

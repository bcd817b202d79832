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
import socket
import subprocess
import sys
import time
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


@pytest.fixture(scope="module")
def moto_auth_server() -> Iterator[tuple[str, str, str, str]]:
    """A second moto server, in its own process, that checks signatures and access keys.

    moto authenticates once its first ``INITIAL_NO_AUTH_ACTION_COUNT`` requests are spent;
    those create an IAM user with an access key and an allow-all policy. Yields the endpoint,
    a bucket, and the user's access key id and secret.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        common = {"endpoint_url": endpoint, "region_name": "us-east-1"}
        iam = boto3.client("iam", aws_access_key_id="x", aws_secret_access_key="y", **common)
        iam.create_user(UserName="registry")
        key = iam.create_access_key(UserName="registry")["AccessKey"]
        iam.put_user_policy(
            UserName="registry",
            PolicyName="all",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Action":"*","Resource":"*"}]}',
        )
        s3 = boto3.client(
            "s3",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            **common,
        )
        s3.create_bucket(Bucket="authenticated")
        yield endpoint, "authenticated", key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        process.terminate()
        process.wait(timeout=10)

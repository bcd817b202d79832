"""The object-store servers of the drivers' own tests, reused by the migration and registry tests.

Each ``start_*`` runs the same local server those tests run (moto, fake-gcs-server, Azurite,
a real Swift, the fake OSS) on 127.0.0.1 and returns a :class:`Service`: a function that
opens a driver over a fresh bucket (or container) on it, and a stop function. Their helper
modules are imported from the sibling test directories. The drivers write in chunks, parts
or segments of at most 5 MiB, so a blob of a few MiB takes their multipart paths.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver

TESTS = Path(__file__).resolve().parent.parent
for folder in ("gcs", "azure", "swift", "oss"):
    sys.path.insert(0, str(TESTS / folder))


@dataclass
class Service:
    """A running storage service: ``open()`` a driver on a fresh bucket; ``stop()`` it."""

    open: Callable[[], StorageDriver]
    stop: Callable[[], None]
    environment: dict[str, str]
    open_missing: Callable[[], StorageDriver] | None = None
    """A driver on a bucket that does not exist (for the services that have one)."""


def start_s3() -> Service:
    """moto's S3 server; a new bucket per driver."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    keys = {"aws_access_key_id": "AKIDMIGRATE", "aws_secret_access_key": "migrate-secret"}
    admin = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)

    def make(create: bool = True) -> StorageDriver:
        bucket = f"m-{uuid.uuid4().hex[:12]}"
        if create:
            admin.create_bucket(Bucket=bucket)
        return open_driver(
            "s3",
            bucket=bucket,
            region="us-east-1",
            regionendpoint=endpoint,
            forcepathstyle="true",
            accesskey=keys["aws_access_key_id"],
            secretkey=keys["aws_secret_access_key"],
            secure="false",
            chunksize=str(5 * 2**20),  # the minimum (the default is 10 MiB)
        )

    return Service(make, server.stop, {}, lambda: make(create=False))


def start_gcs(workdir: Path) -> Service:
    """fake-gcs-server; a new bucket per driver (needs STORAGE_EMULATOR_HOST set)."""
    from gcs_emulator import start_emulator

    emulator = start_emulator(workdir)

    def make() -> StorageDriver:
        return open_driver("gcs", bucket=emulator.create_bucket(), chunksize=512 * 1024)

    return Service(make, emulator.stop, {"STORAGE_EMULATOR_HOST": emulator.endpoint})


def start_azure(workdir: Path) -> Service:
    """Azurite's blob service; a new container per driver."""
    from azure.storage.blob import BlobServiceClient
    from azurite_server import ACCOUNT, ACCOUNT_KEY, start_azurite

    azurite = start_azurite(workdir)
    credential = {"account_name": ACCOUNT, "account_key": ACCOUNT_KEY}

    def make() -> StorageDriver:
        container = f"c-{uuid.uuid4().hex[:12]}"
        with BlobServiceClient(azurite.service_url, credential=credential) as client:
            client.create_container(container)
        return open_driver(
            "azure",
            accountname=ACCOUNT,
            accountkey=ACCOUNT_KEY,
            container=container,
            serviceurl=azurite.service_url,
        )

    return Service(make, azurite.stop, {})


def start_swift_service(workdir: Path) -> Service:
    """A real Swift (all in one process); a new container per driver."""
    from swift_support import start_swift, stop_swift

    server = start_swift(workdir)
    return Service(
        lambda: open_driver("swift", **server.parameters()), lambda: stop_swift(server), {}
    )


def start_oss_service() -> Service:
    """The fake OSS; a new bucket per driver."""
    from oss_support import start_oss

    server = start_oss()
    return Service(lambda: open_driver("oss", **server.parameters()), server.fake.stop, {})


SERVICES = ("s3", "gcs", "azure", "swift", "oss")
DRIVERS = ("inmemory", "filesystem", *SERVICES)
"""Every driver the suite reaches: the two local ones and the five object-store services."""


@contextlib.contextmanager
def running_services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Service]]:
    """Start every object-store service; stop them all when the block ends."""
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


@contextlib.contextmanager
def backend_opener(
    services: dict[str, Service], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], StorageDriver]]:
    """A function opening a driver on a fresh, empty store of the named backend (a new
    filesystem root, a new in-memory store, or a new bucket of a service), with the
    services' environment set while the block runs."""
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

"""Retries: a throttling or failing S3 is retried with backoff, and a lasting failure is named.

A small HTTP proxy on 127.0.0.1 sits between the driver and moto's server and answers the
first requests with S3's ``503 SlowDown`` (or a ``500``) before forwarding the rest, so the
driver's botocore retry mode meets real error answers on the wire.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.flaky_proxy import S3_SLOW_DOWN, FlakyProxy

from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.driver.wrapper import validated
from distribution_storage.drivers.s3 import S3Driver, read_settings


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FlakyProxy]:
    with FlakyProxy(moto_server, error=S3_SLOW_DOWN) as flaky:
        yield flaky


@pytest.fixture
def driver(proxy: FlakyProxy, s3_params: Callable[..., dict[str, Any]]) -> Any:
    settings = read_settings(s3_params(regionendpoint=proxy.endpoint))
    return validated(S3Driver(dataclasses.replace(settings, max_attempts=3)))


@pytest.mark.parametrize("status", [503, 500])
def test_throttling_and_server_errors_are_retried(
    driver: Any, proxy: FlakyProxy, status: int
) -> None:
    proxy.status = status
    proxy.failures = 2
    driver.put_content("/retried", b"eventually")
    assert len(proxy.seen) == 3
    proxy.failures = 2
    assert driver.get_content("/retried") == b"eventually"


def test_a_failure_that_outlasts_the_retries_names_operation_and_path(
    driver: Any, proxy: FlakyProxy
) -> None:
    proxy.failures = 3
    with pytest.raises(StorageDriverError) as caught:
        driver.put_content("/never", b"x")
    assert str(caught.value).startswith("s3: put_content /never: S3 error SlowDown")
    assert len(proxy.seen) == 3

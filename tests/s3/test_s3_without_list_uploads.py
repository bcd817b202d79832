"""An S3-compatible service without ListMultipartUploads.

A proxy in front of moto answers every ListMultipartUploads (``GET /bucket?uploads``) with
``501 NotImplemented``, as some services do. New writers, blobs of many parts included, must
not need the call; resuming an upload does, and fails with one clear line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from s3_support import MiB, random_bytes
from support.flaky_proxy import FlakyProxy

from distribution_storage.driver.errors import UnsupportedMethodError
from distribution_storage.driver.wrapper import validated
from distribution_storage.drivers.s3 import S3Driver, read_settings
from distribution_storage.layout import Digest
from distribution_storage.registry import Registry


def lists_uploads(method: str, path: str) -> bool:
    """ListMultipartUploads: a GET with the bare ``uploads`` query key."""
    return method == "GET" and "uploads" in parse_qs(urlsplit(path).query, keep_blank_values=True)


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FlakyProxy]:
    with FlakyProxy(moto_server) as lacking:
        lacking.unimplemented = lists_uploads
        yield lacking


@pytest.fixture
def driver(proxy: FlakyProxy, s3_params: Callable[..., dict[str, Any]]) -> Any:
    return validated(S3Driver(read_settings(s3_params(regionendpoint=proxy.endpoint))))


def refused(proxy: FlakyProxy) -> int:
    return sum(lists_uploads(*line.split(" ", 1)) for line in proxy.seen)


def test_a_new_writer_of_many_parts_commits(driver: Any, proxy: FlakyProxy) -> None:
    data = random_bytes(12 * MiB)
    with driver.writer("/big/blob") as writer:
        for start in range(0, len(data), MiB):
            writer.write(data[start : start + MiB])
        writer.commit()
    assert driver.get_content("/big/blob") == data
    assert refused(proxy) >= 1  # the writer asked, was refused, and went on


def test_resuming_an_upload_fails_with_one_line_naming_the_call(
    driver: Any, proxy: FlakyProxy
) -> None:
    writer = driver.writer("/resumed/data")
    writer.write(random_bytes(6 * MiB))
    writer.close()
    with pytest.raises(UnsupportedMethodError) as caught:
        driver.writer("/resumed/data", append=True)
    message = str(caught.value)
    assert "\n" not in message
    assert "resuming an upload needs ListMultipartUploads" in message
    assert proxy.endpoint in message


def test_a_registry_push_in_one_session_stores_the_blob(driver: Any) -> None:
    data = random_bytes(11 * MiB)
    repository = Registry(driver).repository("lacking/uploads")
    with repository.uploads.create() as upload:
        upload.write(data)
        descriptor = upload.commit(Digest.of(data))
    assert repository.blobs.exists(descriptor.digest)
    with repository.blobs.open(descriptor.digest) as stream:
        assert stream.read() == data

"""The s3 writer creates its multipart upload ahead of the first part, in the background.

With 10 MiB parts the upload is created once 5 MiB are buffered (half a part, at least
S3's 5 MiB minimum), while the caller goes on writing; the first part waits for what is left
of the round trip. These tests
hold CreateMultipartUpload at botocore's ``before-call`` event (``PartGate``) to show what
waits for it and what does not, and check that a stream ending before its first part is
full still commits as one PutObject, that cancel aborts the early upload, and that a failed
creation fails the writer as a lost part does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from s3_support import MiB, PartGate, RequestCounter, in_thread, random_bytes, sha256
from support.flaky_proxy import S3_SLOW_DOWN, FlakyProxy

from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.drivers.s3 import S3Driver, read_settings
from distribution_storage.drivers.s3.writer import S3Writer

PART = 10 * MiB


@pytest.fixture
def driver(s3_params: Callable[..., dict[str, Any]]) -> S3Driver:
    """A driver writing 10 MiB parts, whose early start (5 MiB) comes before a full part."""
    return S3Driver.from_parameters(s3_params(chunksize=str(PART)))


def pending_uploads(driver: S3Driver, admin: Any) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = admin.list_multipart_uploads(Bucket=driver.settings.bucket).get(
        "Uploads", []
    )
    return uploads


def test_the_upload_is_created_once_half_a_part_is_buffered(
    driver: S3Driver, s3_admin: Any
) -> None:
    creation = PartGate(driver.client, "CreateMultipartUpload")
    counter = RequestCounter(driver.client)
    writer = driver.writer("/up/early")
    writer.write(random_bytes(4 * MiB))
    assert creation.started == 0
    writer.write(random_bytes(MiB))
    creation.wait_started(1)  # under way, in the background, with no part to send yet
    assert counter.calls["UploadPart"] == 0
    creation.release()
    writer.cancel()
    assert pending_uploads(driver, s3_admin) == []


def test_writing_goes_on_while_the_upload_is_created_and_the_first_part_waits_for_it(
    driver: S3Driver, s3_admin: Any
) -> None:
    creation = PartGate(driver.client, "CreateMultipartUpload")
    parts = RequestCounter(driver.client)
    writer = driver.writer("/up/overlap")
    assert isinstance(writer, S3Writer)
    first, rest = random_bytes(PART - MiB), random_bytes(PART + 3 * MiB)
    writer.write(first)  # returns with the creation held
    creation.wait_started(1)
    thread, errors = in_thread(lambda: writer.write(rest))
    thread.join(timeout=0.5)
    assert thread.is_alive(), "the first part did not wait for its upload"
    assert parts.calls["UploadPart"] == 0
    creation.release()
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    writer.commit()
    data = first + rest
    assert sha256(driver.get_content("/up/overlap")) == sha256(data)
    assert [part.size for part in writer.parts] == [PART, PART, 2 * MiB]
    assert parts.calls["CreateMultipartUpload"] == 1
    assert pending_uploads(driver, s3_admin) == []


def test_a_stream_ending_before_its_first_part_is_one_put_object(
    driver: S3Driver, s3_admin: Any
) -> None:
    counter = RequestCounter(driver.client)
    data = random_bytes(7 * MiB)
    writer = driver.writer("/up/small")
    writer.write(data)
    writer.commit()
    assert counter.calls["CreateMultipartUpload"] == 1
    assert counter.calls["AbortMultipartUpload"] == 1
    assert counter.calls["PutObject"] == 1
    assert counter.calls["UploadPart"] == counter.calls["CompleteMultipartUpload"] == 0
    assert pending_uploads(driver, s3_admin) == []
    head = s3_admin.head_object(Bucket=driver.settings.bucket, Key=driver.key("/up/small"))
    assert "-" not in head["ETag"]  # a plain object, not a completed multipart upload
    assert sha256(driver.get_content("/up/small")) == sha256(data)


def test_a_small_stream_closed_after_an_early_start_resumes_and_commits(
    driver: S3Driver, s3_admin: Any
) -> None:
    head, tail = random_bytes(6 * MiB), random_bytes(MiB)
    writer = driver.writer("/up/closed")
    writer.write(head)
    writer.close()  # the buffer becomes the early upload's only part
    again = S3Driver(driver.settings).writer("/up/closed", append=True)
    assert again.size == len(head)
    again.write(tail)
    again.commit()
    assert sha256(driver.get_content("/up/closed")) == sha256(head + tail)
    assert pending_uploads(driver, s3_admin) == []


def test_cancel_aborts_an_upload_created_ahead_of_its_first_part(
    driver: S3Driver, s3_admin: Any
) -> None:
    creation = PartGate(driver.client, "CreateMultipartUpload")
    writer = driver.writer("/up/cancelled")
    writer.write(random_bytes(6 * MiB))
    creation.wait_started(1)
    thread, errors = in_thread(writer.cancel)
    thread.join(timeout=0.5)
    assert thread.is_alive(), "cancel returned before the upload it must abort existed"
    creation.release()
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    assert pending_uploads(driver, s3_admin) == []
    assert s3_admin.list_objects_v2(Bucket=driver.settings.bucket).get("KeyCount") == 0


def test_a_stale_upload_is_aborted_and_a_newer_one_kept_after_an_early_start(
    driver: S3Driver, s3_admin: Any
) -> None:
    bucket, key = driver.settings.bucket, driver.key("/up/stale")
    stale = s3_admin.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    listing = PartGate(driver.client, "ListMultipartUploads")
    writer = driver.writer("/up/stale")
    data = random_bytes(6 * MiB)
    writer.write(data)
    listing.wait_started(1)  # the check runs once the writer's own upload exists
    newer = s3_admin.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    listing.release()
    writer.commit()
    assert sha256(driver.get_content("/up/stale")) == sha256(data)
    left = {u["UploadId"] for u in pending_uploads(driver, s3_admin)}
    assert left == {newer} and stale not in left


def test_a_failed_early_creation_fails_the_writer_like_a_lost_part(
    moto_server: str, s3_params: Callable[..., dict[str, Any]], s3_admin: Any
) -> None:
    proxy = FlakyProxy(moto_server, error=S3_SLOW_DOWN).start()
    try:
        params = s3_params(regionendpoint=proxy.endpoint, chunksize=str(PART))
        driver = S3Driver(dataclasses.replace(read_settings(params), max_attempts=1))
        creation = PartGate(driver.client, "CreateMultipartUpload")
        writer = driver.writer("/up/uncreated")
        writer.write(random_bytes(6 * MiB))
        creation.wait_started(1)
        proxy.fail_next(1, match="?uploads")  # POST ?uploads: the creation
        creation.release()
        with pytest.raises(StorageDriverError, match="write /up/uncreated: S3 error SlowDown"):
            writer.commit()
        for call in (lambda: writer.write(b"more"), writer.close, writer.commit):
            with pytest.raises(StorageDriverError, match="write /up/uncreated: S3 error"):
                call()
        writer.cancel()
        bucket = params["bucket"]
        assert s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        assert s3_admin.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    finally:
        proxy.stop()

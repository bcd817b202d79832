"""The s3 driver's multipart writer: resume from a new driver instance, rebase, part sizes.

Each resume opens a *new* driver (a new boto3 client, as another process would), so the
open upload is found only through ListMultipartUploads and ListParts. Part sizes are read
back from moto with ListParts. The 10,000-part growth is checked twice: the planner's
arithmetic with the real constants, and a real upload whose plan is shortened
(``equal_parts``) so that the growth happens within a few parts of 5 MiB.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from s3_support import MiB, RequestCounter, random_bytes, sha256

from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.drivers.s3 import S3Driver
from distribution_storage.drivers.s3.parameters import MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from distribution_storage.drivers.s3.writer import EQUAL_PARTS, MAX_PARTS, part_size

Factory = Callable[..., S3Driver]


@pytest.fixture
def new_driver(s3_params: Callable[..., dict[str, Any]]) -> Factory:
    """Makes a new driver instance (5 MiB parts) over the test's bucket at each call."""

    def make(**kwargs: Any) -> S3Driver:
        settings_params = s3_params(chunksize=str(5 * MiB))
        driver = S3Driver.from_parameters(settings_params)
        if kwargs:
            driver = S3Driver(driver.settings, **kwargs)
        return driver

    return make


def uploaded_part_sizes(driver: S3Driver, admin: Any, path: str) -> list[int]:
    key = driver.key(path)
    uploads = [
        u
        for u in admin.list_multipart_uploads(Bucket=driver.settings.bucket).get("Uploads", [])
        if u["Key"] == key
    ]
    assert len(uploads) == 1, uploads
    parts = admin.list_parts(
        Bucket=driver.settings.bucket, Key=key, UploadId=uploads[0]["UploadId"]
    )["Parts"]
    return [int(p["Size"]) for p in parts]


def test_close_leaves_equal_parts_and_a_new_instance_resumes(
    new_driver: Factory, s3_admin: Any
) -> None:
    first, second = random_bytes(12 * MiB), random_bytes(9 * MiB)
    writer = new_driver().writer("/up/data")
    writer.write(first)
    writer.close()
    assert uploaded_part_sizes(new_driver(), s3_admin, "/up/data") == [5 * MiB, 5 * MiB, 2 * MiB]

    resumed = new_driver().writer("/up/data", append=True)
    assert resumed.size == 12 * MiB
    resumed.write(second)
    resumed.commit()
    assert resumed.size == 21 * MiB
    assert sha256(new_driver().get_content("/up/data")) == sha256(first + second)
    assert (
        s3_admin.list_multipart_uploads(Bucket=new_driver().settings.bucket).get("Uploads", [])
        == []
    )


def test_resume_after_a_short_only_part_pulls_it_back_into_the_buffer(
    new_driver: Factory,
) -> None:
    head = random_bytes(1 * MiB)
    writer = new_driver().writer("/up/small")
    writer.write(head)
    writer.close()
    tail = random_bytes(6 * MiB)
    resumed = new_driver().writer("/up/small", append=True)
    assert resumed.size == 1 * MiB
    resumed.write(tail)
    resumed.close()
    assert resumed.size == 7 * MiB
    again = new_driver().writer("/up/small", append=True)
    assert again.size == 7 * MiB
    again.commit()
    assert sha256(new_driver().get_content("/up/small")) == sha256(head + tail)


def test_resume_after_a_short_last_part_copies_the_rest_server_side(
    new_driver: Factory, s3_admin: Any
) -> None:
    head, tail = random_bytes(7 * MiB), random_bytes(3 * MiB)
    writer = new_driver().writer("/up/rebase")
    writer.write(head)
    writer.close()
    driver = new_driver()
    resumed = driver.writer("/up/rebase", append=True)
    counter = RequestCounter(driver.client)
    resumed.write(tail)
    resumed.close()
    assert counter.calls["CompleteMultipartUpload"] == 1
    assert counter.calls["UploadPartCopy"] == 1
    assert uploaded_part_sizes(driver, s3_admin, "/up/rebase") == [7 * MiB, 3 * MiB]
    final = new_driver().writer("/up/rebase", append=True)
    assert final.size == 10 * MiB
    final.commit()
    assert sha256(new_driver().get_content("/up/rebase")) == sha256(head + tail)


def test_cancel_of_a_resumed_writer_aborts_and_leaves_nothing(
    new_driver: Factory, s3_admin: Any
) -> None:
    writer = new_driver().writer("/up/cancel")
    writer.write(random_bytes(6 * MiB))
    writer.close()
    resumed = new_driver().writer("/up/cancel", append=True)
    resumed.write(random_bytes(1 * MiB))  # forces a rebase: the object becomes visible
    resumed.close()
    assert new_driver().stat("/up/cancel").size == 6 * MiB
    again = new_driver().writer("/up/cancel", append=True)
    assert again.size == 7 * MiB
    again.cancel()
    bucket = new_driver().settings.bucket
    assert s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3_admin.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    with pytest.raises(PathNotFoundError):
        new_driver().writer("/up/cancel", append=True)


def test_zero_byte_close_resumes_at_zero_and_a_fresh_writer_replaces_pending(
    new_driver: Factory, s3_admin: Any
) -> None:
    writer = new_driver().writer("/up/zero")
    writer.close()
    resumed = new_driver().writer("/up/zero", append=True)
    assert resumed.size == 0
    resumed.close()
    fresh = new_driver().writer("/up/zero")
    fresh.write(random_bytes(6 * MiB))
    fresh.close()
    # The fresh writer aborted the earlier pending upload: exactly one is left.
    assert uploaded_part_sizes(new_driver(), s3_admin, "/up/zero") == [5 * MiB, 1 * MiB]
    final = new_driver().writer("/up/zero", append=True)
    final.commit()
    assert new_driver().stat("/up/zero").size == 6 * MiB


def test_part_plan_stays_equal_then_grows_within_s3_limits() -> None:
    chunk = MIN_CHUNK_SIZE
    sizes = [part_size(n, chunk) for n in range(1, MAX_PARTS + 1)]
    assert set(sizes[:EQUAL_PARTS]) == {chunk}
    assert sizes[EQUAL_PARTS] == 2 * chunk
    assert sizes == sorted(sizes)
    assert max(sizes) <= MAX_CHUNK_SIZE
    # 10,000 parts of the smallest chunk size reach about 4.9 TiB (S3's object limit is 5 TiB)
    assert sum(sizes) > 4.8 * 1024**4
    assert sum(part_size(n, 10 * MiB) for n in range(1, MAX_PARTS + 1)) > 5 * 1024**4
    assert part_size(MAX_PARTS, 100 * MiB) == MAX_CHUNK_SIZE


def test_a_real_upload_grows_its_parts_past_the_equal_part_count(
    new_driver: Factory, s3_admin: Any
) -> None:
    driver = new_driver(equal_parts=2)
    data = random_bytes(23 * MiB)
    writer = driver.writer("/up/grow")
    writer.write(data)
    writer.close()
    assert uploaded_part_sizes(driver, s3_admin, "/up/grow") == [
        5 * MiB,
        5 * MiB,
        10 * MiB,
        3 * MiB,
    ]
    resumed = new_driver(equal_parts=2).writer("/up/grow", append=True)
    resumed.commit()
    assert sha256(driver.get_content("/up/grow")) == sha256(data)


def test_resume_pages_through_more_than_1000_parts(new_driver: Factory, s3_admin: Any) -> None:
    # S3 checks part sizes only when an upload completes, so 1,001 one-byte parts make a
    # cheap upload whose ListParts needs two pages.
    driver = new_driver()
    bucket, key = driver.settings.bucket, driver.key("/up/many-parts")
    upload_id = s3_admin.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]

    def upload(number: int) -> None:
        s3_admin.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=b"p"
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(upload, range(1, 1002)))
    counter = RequestCounter(driver.client)
    resumed = driver.writer("/up/many-parts", append=True)
    assert resumed.size == 1001
    assert counter.calls["ListParts"] == 2
    resumed.cancel()
    assert s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

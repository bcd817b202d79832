"""The s3 driver's multipart writer: resume from a new driver instance, rebase, part sizes.

Each resume opens a *new* driver (a new boto3 client, as another process would), so the
open upload is found only through ListMultipartUploads and ListParts. Part sizes are read
back from moto with ListParts; the CRC32 of each part is read from the requests the driver
sent (moto neither checks nor keeps it) and from the composite checksum moto builds for an
upload that declared CRC32. The 10,000-part growth is checked twice: the planner's
arithmetic with the real constants, and a real upload whose plan is shortened
(``equal_parts``) so that the growth happens within a few parts of 5 MiB.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from s3_support import MiB, RequestCounter, random_bytes, sha256
from support.flaky_proxy import S3_SLOW_DOWN, FlakyProxy

from distribution_storage.driver.contract import FileWriter
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.drivers.s3 import S3Driver, read_settings
from distribution_storage.drivers.s3.parameters import (
    DEFAULT_UPLOAD_CONCURRENCY,
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
)
from distribution_storage.drivers.s3.writer import EQUAL_PARTS, MAX_PARTS, part_crc32, part_size

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


class PartGate:
    """Holds every UploadPart (or ``operation``) a driver's client sends until
    :meth:`release`.

    A handler on botocore's ``before-call`` event waits there, so a test decides how long
    parts stay in flight; the requests themselves then go to the server unchanged.
    """

    def __init__(self, client: Any, operation: str = "UploadPart") -> None:
        self.started = 0
        self._entered = threading.Semaphore(0)
        self._open = threading.Event()
        self._lock = threading.Lock()
        client.meta.events.register(f"before-call.s3.{operation}", self._hold)

    def _hold(self, **_: Any) -> None:
        with self._lock:
            self.started += 1
        self._entered.release()
        self._open.wait(timeout=60)

    def wait_started(self, count: int) -> None:
        """Wait until ``count`` more parts are held."""
        for _ in range(count):
            assert self._entered.acquire(timeout=30), "a part never started"

    def release(self) -> None:
        """Let every held part, and every later one, go."""
        self._open.set()


def in_thread(call: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``call`` in a new thread; returns the thread and where its exception lands."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@contextlib.contextmanager
def one_attempt_behind_proxy(
    moto_server: str, s3_params: Callable[..., dict[str, Any]], s3_admin: Any
) -> Iterator[tuple[FlakyProxy, S3Driver]]:
    """A driver with 5 MiB parts that tries each request once, through a proxy that can
    answer with S3's SlowDown; afterwards the bucket must hold no upload and no object."""
    proxy = FlakyProxy(moto_server, error=S3_SLOW_DOWN).start()
    try:
        params = s3_params(regionendpoint=proxy.endpoint, chunksize=str(5 * MiB))
        yield proxy, S3Driver(dataclasses.replace(read_settings(params), max_attempts=1))
        bucket = params["bucket"]
        assert s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        assert s3_admin.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    finally:
        proxy.stop()


def test_a_part_lost_in_flight_fails_commit_and_every_later_call_until_cancel(
    moto_server: str, s3_params: Callable[..., dict[str, Any]], s3_admin: Any
) -> None:
    with one_attempt_behind_proxy(moto_server, s3_params, s3_admin) as (proxy, driver):
        gate = PartGate(driver.client)
        writer = driver.writer("/up/lost")
        writer.write(random_bytes(10 * MiB))
        gate.wait_started(2)  # write returned with both parts still in flight
        # S3 answers one of them with an error (not the check for earlier uploads, which
        # runs beside them); the upload stays
        proxy.fail_next(1, match="partNumber=")
        gate.release()
        with pytest.raises(StorageDriverError, match="write /up/lost: S3 error SlowDown"):
            writer.commit()
        # The upload has a gap now: nothing may be added, persisted or completed.
        for call in (lambda: writer.write(b"more"), writer.close, writer.commit):
            with pytest.raises(StorageDriverError, match="write /up/lost: S3 error SlowDown"):
                call()
        assert not writer.closed
        writer.cancel()


def test_cancel_waits_for_the_parts_in_flight_then_aborts(
    new_driver: Factory, s3_admin: Any
) -> None:
    driver = new_driver()
    gate = PartGate(driver.client)
    writer = driver.writer("/up/cancel-in-flight")
    writer.write(random_bytes(10 * MiB))
    gate.wait_started(2)
    thread, errors = in_thread(writer.cancel)
    thread.join(timeout=0.5)
    assert thread.is_alive(), "cancel returned while parts were still being uploaded"
    gate.release()
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    assert writer.closed
    bucket = driver.settings.bucket
    assert s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3_admin.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.mark.parametrize("concurrency", [None, "4"])
def test_a_writer_holds_at_most_its_parts_in_flight_and_one_buffer(
    s3_params: Callable[..., dict[str, Any]], concurrency: str | None
) -> None:
    params = s3_params(chunksize=str(5 * MiB))
    if concurrency is not None:
        params["uploadconcurrency"] = concurrency
    driver = S3Driver.from_parameters(params)
    in_flight = int(concurrency or DEFAULT_UPLOAD_CONCURRENCY)
    gate = PartGate(driver.client)
    writer = driver.writer("/up/bounded")
    data = random_bytes(30 * MiB)
    handed_over, peak = [0], [0]
    bound = (in_flight + 1) * 5 * MiB

    def write_all() -> None:
        for offset in range(0, len(data), MiB):
            writer.write(data[offset : offset + MiB])
            handed_over[0] += MiB
            peak[0] = max(peak[0], writer.buffered)

    thread, errors = in_thread(write_all)
    gate.wait_started(in_flight)
    thread.join(timeout=0.5)
    # The caller is held back: no further part starts and no more than the bound is taken.
    assert thread.is_alive()
    assert gate.started == in_flight
    assert handed_over[0] < bound
    gate.release()
    thread.join(timeout=60)
    assert not thread.is_alive() and errors == []
    assert 0 < peak[0] < bound
    writer.commit()
    assert sha256(driver.get_content("/up/bounded")) == sha256(data)


class PartChecksums:
    """Records the ``x-amz-checksum-crc32`` header of every UploadPart a client sends."""

    def __init__(self, client: Any) -> None:
        self.sent: dict[int, str | None] = {}
        client.meta.events.register("before-send.s3.UploadPart", self._record)

    def _record(self, request: Any, **_: Any) -> None:
        number = int(request.url.split("partNumber=")[1].split("&")[0])
        value = request.headers.get("x-amz-checksum-crc32")
        self.sent[number] = value.decode() if isinstance(value, bytes) else value


def pending_algorithm(driver: S3Driver, admin: Any, path: str) -> str | None:
    uploads = admin.list_multipart_uploads(Bucket=driver.settings.bucket).get("Uploads", [])
    [upload] = [u for u in uploads if u["Key"] == driver.key(path)]
    algorithm: str | None = upload.get("ChecksumAlgorithm")
    return algorithm


def stored_checksum(driver: S3Driver, admin: Any, path: str) -> str | None:
    head = admin.head_object(
        Bucket=driver.settings.bucket, Key=driver.key(path), ChecksumMode="ENABLED"
    )
    checksum: str | None = head.get("ChecksumCRC32")
    return checksum.split("-")[0] if checksum else None


def composite_crc32(parts: list[bytes]) -> str:
    """S3's checksum of an object uploaded in ``parts`` with CRC32: the CRC32 of the parts'
    CRC32s (AWS adds ``-`` and the number of parts, moto's HEAD does not)."""
    return part_crc32(b"".join(base64.b64decode(part_crc32(part)) for part in parts))


def test_parts_carry_their_crc32_and_the_object_a_composite_checksum(
    new_driver: Factory, s3_admin: Any
) -> None:
    driver = new_driver()
    sent = PartChecksums(driver.client)
    data = random_bytes(12 * MiB)
    writer = driver.writer("/up/crc")
    writer.write(data)
    assert pending_algorithm(driver, s3_admin, "/up/crc") == "CRC32"
    writer.commit()
    slices = [data[: 5 * MiB], data[5 * MiB : 10 * MiB], data[10 * MiB :]]
    assert sent.sent == {number: part_crc32(part) for number, part in enumerate(slices, start=1)}
    assert stored_checksum(driver, s3_admin, "/up/crc") == composite_crc32(slices)
    assert sha256(driver.get_content("/up/crc")) == sha256(data)


def resumed_with(
    new_driver: Factory, path: str, head: bytes, tail: bytes
) -> tuple[S3Driver, PartChecksums, FileWriter]:
    """``head`` written and closed; then, in a new driver whose parts' checksums are
    recorded, the upload resumed and ``tail`` written (the writer is left open)."""
    writer = new_driver().writer(path)
    writer.write(head)
    writer.close()
    driver = new_driver()
    sent = PartChecksums(driver.client)
    resumed = driver.writer(path, append=True)
    resumed.write(tail)
    return driver, sent, resumed


def test_a_rebased_upload_declares_no_checksum(new_driver: Factory, s3_admin: Any) -> None:
    head, tail = random_bytes(7 * MiB), random_bytes(5 * MiB)
    # the short last part of head makes the resume complete and copy it (UploadPartCopy)
    driver, sent, resumed = resumed_with(new_driver, "/up/rebased", head, tail)
    resumed.close()
    assert pending_algorithm(driver, s3_admin, "/up/rebased") is None
    assert sent.sent == {2: None}
    new_driver().writer("/up/rebased", append=True).commit()
    assert sha256(driver.get_content("/up/rebased")) == sha256(head + tail)


def test_a_resumed_upload_goes_on_sending_crc32(new_driver: Factory, s3_admin: Any) -> None:
    head, tail = random_bytes(10 * MiB), random_bytes(6 * MiB)
    driver, sent, resumed = resumed_with(new_driver, "/up/resume-crc", head, tail)
    resumed.commit()
    assert sent.sent == {3: part_crc32(tail[: 5 * MiB]), 4: part_crc32(tail[5 * MiB :])}
    parts = [head[: 5 * MiB], head[5 * MiB :], tail[: 5 * MiB], tail[5 * MiB :]]
    assert stored_checksum(driver, s3_admin, "/up/resume-crc") == composite_crc32(parts)
    assert sha256(driver.get_content("/up/resume-crc")) == sha256(head + tail)


def test_checksumalgorithm_none_sends_no_checksum(
    s3_params: Callable[..., dict[str, Any]], s3_admin: Any
) -> None:
    driver = S3Driver.from_parameters(s3_params(chunksize=str(5 * MiB), checksumalgorithm="none"))
    sent = PartChecksums(driver.client)
    writer = driver.writer("/up/plain")
    writer.write(random_bytes(7 * MiB))
    writer.close()
    assert pending_algorithm(driver, s3_admin, "/up/plain") is None
    assert sent.sent == {1: None, 2: None}


def test_parts_go_while_the_check_for_earlier_uploads_is_pending(
    new_driver: Factory, s3_admin: Any
) -> None:
    driver = new_driver()
    bucket, key = driver.settings.bucket, driver.key("/up/stale")
    stale = s3_admin.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    listing = PartGate(driver.client, "ListMultipartUploads")
    parts = PartChecksums(driver.client)
    writer = driver.writer("/up/stale")
    data = random_bytes(11 * MiB)
    thread, errors = in_thread(lambda: writer.write(data))
    listing.wait_started(1)
    thread.join(timeout=30)
    # The check for uploads left at the key is held, and the writer went on regardless.
    assert not thread.is_alive() and errors == []
    newer = s3_admin.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    committing, errors = in_thread(writer.commit)
    committing.join(timeout=0.5)
    assert committing.is_alive(), "commit did not wait for the check"
    listing.release()
    committing.join(timeout=30)
    assert errors == []
    assert set(parts.sent) == {1, 2, 3}
    assert sha256(driver.get_content("/up/stale")) == sha256(data)
    # The upload started before the writer's is gone; the one started after it is not.
    left = {u["UploadId"] for u in s3_admin.list_multipart_uploads(Bucket=bucket)["Uploads"]}
    assert stale not in left and newer in left


def test_a_failed_check_for_earlier_uploads_fails_the_writer_like_a_lost_part(
    moto_server: str, s3_params: Callable[..., dict[str, Any]], s3_admin: Any
) -> None:
    with one_attempt_behind_proxy(moto_server, s3_params, s3_admin) as (proxy, driver):
        listing = PartGate(driver.client, "ListMultipartUploads")
        writer = driver.writer("/up/unchecked")
        writer.write(random_bytes(6 * MiB))
        listing.wait_started(1)
        # the listing (GET ?uploads) is answered with an error, not a part sent meanwhile
        proxy.fail_next(1, status=503, match="?uploads")
        listing.release()
        with pytest.raises(StorageDriverError, match="list uploads /up/unchecked: S3 error"):
            writer.commit()
        writer.cancel()

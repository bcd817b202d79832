"""The s3 driver's reused part buffers: which parts reuse them, and that none is reused early.

Every part body the driver's client sends is recorded as the object itself (botocore's
``before-parameter-build`` event), so a test can tell a reused ``bytearray`` by identity and
the pool's counters say how many were handed out again. Data integrity is checked on what
moto stored, byte for byte, with parts held in flight, slowed down, retried and failed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from s3_support import MiB, PartGate, one_attempt_behind_proxy, random_bytes, sha256
from support.flaky_proxy import S3_SLOW_DOWN, FlakyProxy

from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.drivers.s3 import S3Driver
from distribution_storage.drivers.s3.writer import POOLED_FROM

PART = 5 * MiB


class SentBodies:
    """Keeps the ``Body`` of every UploadPart a client sends, in the order they were sent."""

    def __init__(self, client: Any) -> None:
        self.bodies: list[Any] = []
        self._lock = threading.Lock()
        client.meta.events.register("before-parameter-build.s3.UploadPart", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.bodies.append(params["Body"])


def part_driver(s3_params: Callable[..., dict[str, Any]], **params: str) -> S3Driver:
    return S3Driver.from_parameters(s3_params(chunksize=str(PART), **params))


def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition`` holds (parts are sent and settle on their own threads)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def wait_free(driver: S3Driver, count: int) -> None:
    """Wait until the driver holds ``count`` free part buffers."""
    eventually(lambda: driver.part_buffers.free == count, f"{count} free buffers")


def test_a_full_part_buffer_is_reused_by_the_next_part_and_by_another_writer(
    s3_params: Callable[..., dict[str, Any]],
) -> None:
    driver = part_driver(s3_params)
    sent = SentBodies(driver.client)
    first, second = driver.writer("/buf/first"), driver.writer("/buf/second")
    data = random_bytes(3 * PART)
    first.write(data[:PART])
    wait_free(driver, 1)
    first.write(data[PART : 2 * PART])
    wait_free(driver, 1)
    second.write(data[2 * PART :])
    wait_free(driver, 1)
    assert len(sent.bodies) == 3
    assert sent.bodies[0] is sent.bodies[1] is sent.bodies[2]
    assert driver.part_buffers.reused == 2
    first.commit()
    second.commit()
    assert driver.get_content("/buf/first") == data[: 2 * PART]
    assert driver.get_content("/buf/second") == data[2 * PART :]


def test_a_small_stream_takes_no_part_buffer(s3_params: Callable[..., dict[str, Any]]) -> None:
    driver = part_driver(s3_params)
    large = driver.writer("/buf/large")
    large.write(random_bytes(PART))
    wait_free(driver, 1)
    small = driver.writer("/buf/small")
    data = random_bytes(POOLED_FROM - 1)
    small.write(data)
    small.commit()
    assert driver.part_buffers.free == 1
    assert driver.part_buffers.reused == 0
    assert driver.get_content("/buf/small") == data
    large.cancel()


def test_a_buffer_in_flight_is_not_handed_out_until_its_part_returns(
    s3_params: Callable[..., dict[str, Any]],
) -> None:
    driver = part_driver(s3_params, uploadconcurrency="4")
    gate = PartGate(driver.client)
    sent = SentBodies(driver.client)
    held, other = driver.writer("/buf/held"), driver.writer("/buf/other")
    first = random_bytes(PART)
    held.write(first)
    gate.wait_started(1)
    assert driver.part_buffers.free == 0
    second = random_bytes(PART + MiB)
    other.write(second)
    gate.wait_started(1)
    assert sent.bodies[1] is not sent.bodies[0]
    assert driver.part_buffers.reused == 0
    gate.release()
    held.commit()
    other.commit()
    assert driver.get_content("/buf/held") == first
    assert driver.get_content("/buf/other") == second


def test_many_writers_with_slow_and_retried_parts_store_exactly_what_was_written(
    moto_server: str, s3_params: Callable[..., dict[str, Any]]
) -> None:
    proxy = FlakyProxy(moto_server, error=S3_SLOW_DOWN).start()
    try:
        driver = part_driver(s3_params, regionendpoint=proxy.endpoint, uploadconcurrency="3")
        chance = random.Random(8)

        def slow_part(**_: Any) -> None:
            # a part stays in flight (its buffer with botocore) a while before it is sent
            time.sleep(chance.uniform(0, 0.05))

        driver.client.meta.events.register("before-send.s3.UploadPart", slow_part)
        # SlowDown for some parts: botocore sends their buffers again after a back-off
        proxy.fail_next(6, match="partNumber=")
        streams = {f"/buf/many/{n}": random_bytes(3 * PART + n * 700_001) for n in range(9)}

        def write(path: str) -> None:
            writer = driver.writer(path)
            data = streams[path]
            for offset in range(0, len(data), 3 * MiB):
                writer.write(data[offset : offset + 3 * MiB])
            writer.commit()

        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(write, streams))
        assert proxy.injected == 6
        assert driver.part_buffers.reused > 0
        assert driver.part_buffers.free == 0
        for path, data in streams.items():
            assert sha256(driver.get_content(path)) == sha256(data), path
    finally:
        proxy.stop()


def test_the_free_buffers_go_when_the_last_writer_finishes(
    s3_params: Callable[..., dict[str, Any]],
) -> None:
    driver = part_driver(s3_params)
    closing, committing, cancelling = (driver.writer(f"/buf/{n}") for n in ("a", "b", "c"))
    for writer in (closing, committing, cancelling):
        writer.write(random_bytes(PART + 2 * MiB))
    closing.close()
    committing.commit()
    assert driver.part_buffers.free > 0  # kept while a writer still uses them
    cancelling.cancel()
    assert driver.part_buffers.free == 0
    assert driver.part_buffers.kept >= 3


def test_the_free_buffers_are_bounded(s3_params: Callable[..., dict[str, Any]]) -> None:
    driver = part_driver(s3_params, uploadconcurrency="1")
    gate = PartGate(driver.client)
    keep = driver.part_buffers.keep
    writers = [driver.writer(f"/buf/bound/{n}") for n in range(keep + 2)]
    for writer in writers:
        writer.write(random_bytes(PART))
    gate.wait_started(len(writers))  # every part in flight, each in a buffer of its own
    gate.release()
    for writer in writers[:-1]:
        writer.close()
    assert driver.part_buffers.kept == keep
    assert driver.part_buffers.free == keep
    writers[-1].close()
    assert driver.part_buffers.free == 0


def test_a_failed_part_gives_its_buffer_back(
    moto_server: str, s3_params: Callable[..., dict[str, Any]], s3_admin: Any
) -> None:
    with one_attempt_behind_proxy(moto_server, s3_params, s3_admin) as (proxy, driver):
        sent = SentBodies(driver.client)
        proxy.fail_next(1, match="partNumber=")
        writer = driver.writer("/buf/failed")
        writer.write(random_bytes(PART))
        with pytest.raises(StorageDriverError, match="SlowDown"):
            writer.commit()
        assert proxy.injected == 1
        assert driver.part_buffers.free == 1
        other = driver.writer("/buf/other")
        other.write(random_bytes(PART))
        eventually(lambda: len(sent.bodies) == 2, "the second part sent")
        assert sent.bodies[1] is sent.bodies[0]
        other.cancel()
        writer.cancel()
        assert driver.part_buffers.free == 0

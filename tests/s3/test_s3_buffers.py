"""The s3 writer's part buffers: blocks reused from part to part, bytes never mixed up.

The first tests drive :class:`PartBuffer` and :class:`BlockPool` directly (pure memory, no
server); the last writes through a real driver to moto, several writers at once, and checks
both that later parts were sent from reused blocks and that every object holds its bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from s3_support import MiB, random_bytes, sha256

from distribution_storage.drivers.s3 import S3Driver
from distribution_storage.drivers.s3.buffers import SMALL, BlockPool, PartBuffer
from distribution_storage.drivers.s3.parameters import DEFAULT_UPLOAD_CONCURRENCY


def test_a_released_block_is_handed_out_again() -> None:
    pool = BlockPool(4096)
    block = pool.acquire()
    pool.release(block)
    assert pool.acquire() is block
    assert pool.allocated == 1


def test_the_pool_keeps_at_most_its_byte_budget_and_only_its_own_size() -> None:
    pool = BlockPool(1000, keep_bytes=3500)
    blocks = [pool.acquire() for _ in range(5)]
    for block in blocks:
        pool.release(block)
    assert pool.free == 3
    pool.release(bytearray(999))
    assert pool.free == 3
    pool.clear()
    assert pool.free == 0


def test_small_data_stays_out_of_the_pool() -> None:
    pool = BlockPool(SMALL * 4)
    buffer = PartBuffer(pool)
    buffer.fill(memoryview(b"x" * SMALL), pool.size)
    assert pool.allocated == 0
    buffer.fill(memoryview(b"y"), pool.size)
    assert pool.allocated == 1
    assert buffer.contents() == b"x" * SMALL + b"y"


def test_a_block_is_taken_only_past_a_quarter_of_a_part() -> None:
    pool = BlockPool(8 * SMALL, keep_bytes=16 * SMALL)
    buffer = PartBuffer(pool)
    buffer.fill(memoryview(bytes(2 * SMALL)), pool.size)
    assert pool.allocated == 0
    buffer.fill(memoryview(b"x"), pool.size)
    assert pool.allocated == 1


def test_parts_larger_than_the_pool_keeps_take_no_block() -> None:
    pool = BlockPool(4 * SMALL, keep_bytes=SMALL)
    assert pool.keep == 0
    buffer = PartBuffer(pool)
    data = os.urandom(4 * SMALL)
    buffer.fill(memoryview(data), pool.size)
    body, pooled = buffer.take(pool.size)
    assert (bytes(body), pooled) == (data, False)
    assert pool.allocated == 0


def test_a_full_block_goes_out_without_a_copy_and_a_tail_as_a_copy() -> None:
    pool = BlockPool(2 * SMALL)
    buffer = PartBuffer(pool)
    data = os.urandom(3 * SMALL + 1)
    view = memoryview(data)
    view = view[buffer.fill(view, pool.size) :]
    body, pooled = buffer.take(pool.size)
    assert pooled and isinstance(body, bytearray) and len(body) == pool.size
    assert body == data[: pool.size]
    assert len(buffer) == 0
    pool.release(body)
    view = view[buffer.fill(view, pool.size) :]
    assert not view
    tail, pooled = buffer.take(len(buffer))
    assert not pooled and tail == data[pool.size :]
    # the tail was gathered in the released block again
    assert pool.allocated == 1
    buffer.release()
    assert pool.free == 1


def test_prepend_keeps_the_order_and_gives_the_block_back() -> None:
    pool = BlockPool(2 * SMALL)
    buffer = PartBuffer(pool)
    body = os.urandom(SMALL + 10)
    buffer.fill(memoryview(body), pool.size)
    assert pool.free == 0
    buffer.prepend(b"head")
    assert buffer.contents() == b"head" + body
    assert pool.free == 1
    part, pooled = buffer.take(4)
    assert (part, pooled) == (b"head", False)
    assert buffer.contents() == body


@settings(max_examples=60, deadline=None)
@given(
    writes=st.lists(st.integers(min_value=0, max_value=3 * SMALL), max_size=8),
    part=st.sampled_from([SMALL // 2, SMALL + 1, 2 * SMALL]),
    head=st.binary(max_size=64),
)
def test_parts_put_back_together_are_the_bytes_written(
    writes: list[int], part: int, head: bytes
) -> None:
    pool = BlockPool(part, keep_bytes=4 * part)
    buffer = PartBuffer(pool, head)
    data = os.urandom(sum(writes))
    sent: list[bytes] = []
    offset = 0
    for size in writes:
        view = memoryview(data)[offset : offset + size]
        offset += size
        while view:
            view = view[buffer.fill(view, part) :]
            while len(buffer) >= part:
                body, pooled = buffer.take(part)
                sent.append(bytes(body))
                if pooled:
                    assert isinstance(body, bytearray)
                    body[:] = b"\0" * len(body)  # scribbled over, as its next user would
                    pool.release(body)
    body, _ = buffer.take(len(buffer))
    sent.append(bytes(body))
    assert b"".join(sent) == head + data
    assert all(len(chunk) == part for chunk in sent[:-1])


def test_writers_reuse_part_blocks_and_every_object_holds_its_bytes(
    s3_params: Callable[..., dict[str, Any]],
) -> None:
    driver = S3Driver.from_parameters(s3_params(chunksize=str(5 * MiB)))
    objects = {f"/reuse/{number}": random_bytes(17 * MiB + number) for number in range(6)}
    piece = 700 * 1024  # below SMALL: each writer starts in a plain buffer

    def upload(path: str) -> None:
        data = objects[path]
        writer = driver.writer(path)
        for offset in range(0, len(data), piece):
            writer.write(data[offset : offset + piece])
        writer.commit()

    writers_at_once = 3
    with ThreadPoolExecutor(writers_at_once) as pool:
        list(pool.map(upload, objects))
    for path, data in objects.items():
        assert sha256(driver.get_content(path)) == sha256(data), path
    # 6 objects x 3 full parts sent; at most the blocks of the writers running at once made
    assert driver.part_blocks.allocated <= writers_at_once * (DEFAULT_UPLOAD_CONCURRENCY + 1)
    assert 0 < driver.part_blocks.free <= driver.part_blocks.keep

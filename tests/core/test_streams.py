"""read_at_most: the first ``limit`` bytes of any stream, however it splits its reads."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from distribution_storage.driver.streams import READ_CHUNK, read_at_most


class Trickle(io.RawIOBase):
    """A stream that hands back at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.reads = data, step, []

    def read(self, size: int = -1) -> bytes:
        self.reads.append(size)
        chunk, self.data = self.data[: min(size, self.step)], self.data[min(size, self.step) :]
        return chunk


@given(st.binary(max_size=300), st.integers(0, 400), st.integers(1, 50))
def test_read_at_most_returns_the_first_limit_bytes(data: bytes, limit: int, step: int) -> None:
    stream = Trickle(data, step)
    assert read_at_most(stream, limit) == data[:limit]
    assert all(0 < size <= limit for size in stream.reads)


def test_no_read_asks_for_more_than_a_chunk() -> None:
    data = bytes(range(256)) * (3 * READ_CHUNK // 256 + 1)
    stream = Trickle(data, len(data))
    assert read_at_most(stream, 4 * 1024 * 1024 + 1) == data
    assert max(stream.reads) == READ_CHUNK
    assert read_at_most(io.BytesIO(data), READ_CHUNK + 1) == data[: READ_CHUNK + 1]

"""Conformance cases for streams: writers that round-trip, resume and grow large, and readers.

Distribution's stream cases: round trips of the write/read samples through a writer and a
reader, a large stream compared by SHA-256, readers at offsets (including negative, at and
past the end), the "continue stream append" resume sequence with large and small chunks,
missing paths, and appending after a zero-byte stream or zero-byte content.
"""

from __future__ import annotations

import hashlib

import pytest

from distribution_storage.conformance.base import ConformanceBase
from distribution_storage.conformance.content import NON_UTF8, SAMPLES
from distribution_storage.conformance.helpers import (
    assert_names_driver,
    check_bytes,
    random_bytes,
    read_path,
    seeded_chunks,
    stream_sha256,
    write_all,
)
from distribution_storage.conformance.options import MiB, SuiteOptions
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import InvalidOffsetError, PathNotFoundError

STREAM_SAMPLES = {**SAMPLES, "non-utf8": NON_UTF8}


def continue_stream_append(driver: StorageDriver, path: str, chunk: int) -> None:
    """Run the resume sequence of driver-contract.md with chunks of ``chunk`` bytes."""
    parts = [random_bytes(chunk) for _ in range(3)]
    writer = driver.writer(path)
    write_all(writer, parts[0])
    writer.close()
    assert writer.size == chunk, "size after the first close"

    writer = driver.writer(path, append=True)
    assert writer.size == chunk, "size of the resumed writer"
    write_all(writer, parts[1])
    writer.close()
    assert writer.size == 2 * chunk, "size after the second close"

    writer = driver.writer(path, append=True)
    assert writer.size == 2 * chunk, "size of the writer resumed again"
    write_all(writer, parts[2])
    writer.commit()
    writer.close()
    assert writer.size == 3 * chunk

    expected = b"".join(parts)
    received = driver.get_content(path)
    assert len(received) == len(expected)
    check_bytes(received, expected, "the resumed stream's content differs")
    assert driver.stat(path).size == 3 * chunk


class StreamCases(ConformanceBase):
    """Writers and readers: round trips, offsets, large streams and resumed appends."""

    @pytest.mark.parametrize("sample", sorted(STREAM_SAMPLES))
    def test_stream_round_trip(self, driver: StorageDriver, prefix: str, sample: str) -> None:
        """writer, write, commit, close; a reader from 0 returns the same bytes."""
        path = f"{prefix}/stream/{sample}"
        content = STREAM_SAMPLES[sample]
        writer = driver.writer(path)
        write_all(writer, content)
        assert writer.size == len(content)
        writer.commit()
        writer.close()
        check_bytes(read_path(driver, path), content)
        assert driver.stat(path).size == len(content)

    def test_large_stream(self, driver: StorageDriver, prefix: str, suite: SuiteOptions) -> None:
        """A stream of ``large_size`` bytes reads back with the same SHA-256 and length."""
        path = f"{prefix}/large"
        size = suite.large_size
        piece = max(64 * 1024, min(4 * MiB + 3, size // 5 + 1))
        expected = hashlib.sha256()
        writer = driver.writer(path)
        for data in seeded_chunks(size, seed=size, chunk=piece):
            expected.update(data)
            write_all(writer, data)
        assert writer.size == size
        writer.commit()
        writer.close()
        del writer
        assert driver.stat(path).size == size
        digest, length = stream_sha256(driver.reader(path))
        assert length == size
        assert digest == expected.hexdigest(), "the large stream reads back different bytes"

    def test_reader_with_offset(self, driver: StorageDriver, prefix: str) -> None:
        """Readers at 0, 32, 64 give the suffixes; -1 raises; 96 and past it are empty."""
        path = f"{prefix}/offsets"
        parts = [random_bytes(32) for _ in range(3)]
        content = b"".join(parts)
        driver.put_content(path, content)
        check_bytes(read_path(driver, path, 0), content)
        assert read_path(driver, path, 32) == parts[1] + parts[2]
        assert read_path(driver, path, 64) == parts[2]
        with pytest.raises(InvalidOffsetError) as caught:
            driver.reader(path, -1)
        assert (caught.value.path, caught.value.offset) == (path, -1)
        assert_names_driver(caught.value, driver)
        assert read_path(driver, path, 96) == b""
        check_bytes(read_path(driver, path, 95), content[95:])
        assert read_path(driver, path, 1000) == b""

    def test_continue_stream_append_large(
        self, driver: StorageDriver, prefix: str, suite: SuiteOptions
    ) -> None:
        """The resume sequence with chunks of ``chunk_size`` bytes keeps all 3 chunks."""
        continue_stream_append(driver, f"{prefix}/append-large", suite.chunk_size)

    def test_continue_stream_append_small(self, driver: StorageDriver, prefix: str) -> None:
        """The resume sequence with 32-byte chunks keeps all 96 bytes."""
        continue_stream_append(driver, f"{prefix}/append-small", 32)

    def test_read_nonexistent_stream(self, driver: StorageDriver, prefix: str) -> None:
        """A reader on a missing path raises PathNotFoundError at offsets 0 and 64."""
        for offset in (0, 64):
            with pytest.raises(PathNotFoundError) as caught:
                driver.reader(f"{prefix}/missing", offset)
            assert_names_driver(caught.value, driver)

    def test_zero_byte_stream_then_append(self, driver: StorageDriver, prefix: str) -> None:
        """An empty committed stream has size 0 and reads empty; an append then adds 32 B."""
        path = f"{prefix}/zero-stream"
        writer = driver.writer(path)
        writer.commit()
        writer.close()
        assert writer.size == 0
        assert driver.stat(path).size == 0
        assert read_path(driver, path) == b""

        content = random_bytes(32)
        writer = driver.writer(path, append=True)
        assert writer.size == 0
        write_all(writer, content)
        writer.commit()
        writer.close()
        assert writer.size == 32
        check_bytes(read_path(driver, path), content)
        assert driver.stat(path).size == 32

    def test_zero_byte_content_then_append(self, driver: StorageDriver, prefix: str) -> None:
        """``put_content(path, b"")`` then an appending writer gives the appended bytes."""
        path = f"{prefix}/zero-content"
        driver.put_content(path, b"")
        content = random_bytes(32)
        writer = driver.writer(path, append=True)
        assert writer.size == 0
        write_all(writer, content)
        writer.commit()
        writer.close()
        check_bytes(driver.get_content(path), content)

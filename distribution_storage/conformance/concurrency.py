"""Conformance cases for concurrent use of one driver from many threads.

Distribution's concurrent stream reads (threads reading one large file from random offsets)
and concurrent file streams (threads each writing and reading back their own file), plus
concurrent ``put_content`` to one path, whose result must be exactly one of the writes,
never a mix of them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from distribution_storage.conformance.base import ConformanceBase
from distribution_storage.conformance.helpers import check_bytes, random_bytes, read_path, write_all
from distribution_storage.conformance.options import SuiteOptions
from distribution_storage.driver.contract import StorageDriver

T = TypeVar("T")
READS_PER_THREAD = 3
PUT_ROUNDS = 3


def run_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` for ``i`` in ``range(count)`` on ``count`` threads; re-raise failures."""
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(work, i) for i in range(count)]
        return [future.result() for future in futures]


class ConcurrencyCases(ConformanceBase):
    """Many threads sharing one driver instance."""

    def test_concurrent_stream_reads(
        self, driver: StorageDriver, prefix: str, suite: SuiteOptions
    ) -> None:
        """Readers on many threads, each from random offsets, all get exact suffixes."""
        path = f"{prefix}/shared"
        content = random_bytes(suite.concurrent_read_size, seed=7)
        driver.put_content(path, content)

        def read_suffixes(index: int) -> int:
            rng = random.Random(index)
            for _ in range(READS_PER_THREAD):
                offset = rng.randrange(len(content))
                data = read_path(driver, path, offset)
                check_bytes(data, content[offset:], f"thread {index} at offset {offset}")
            return index

        assert run_threads(suite.concurrent_readers, read_suffixes) == list(
            range(suite.concurrent_readers)
        )

    def test_concurrent_file_streams(
        self, driver: StorageDriver, prefix: str, suite: SuiteOptions
    ) -> None:
        """Many threads each stream their own file through a writer and read it back."""
        size = suite.concurrent_file_size

        def stream_one(index: int) -> str:
            path = f"{prefix}/streams/file-{index:03d}"
            content = random_bytes(size)
            writer = driver.writer(path)
            half = size // 2
            write_all(writer, [content[:half], content[half:]])
            writer.commit()
            writer.close()
            check_bytes(read_path(driver, path), content, f"thread {index}")
            return path

        paths = run_threads(suite.concurrent_writers, stream_one)
        assert sorted(driver.list(f"{prefix}/streams")) == sorted(paths)

    def test_concurrent_put_content_to_one_path(
        self, driver: StorageDriver, prefix: str, suite: SuiteOptions
    ) -> None:
        """Concurrent puts to one path leave exactly one of the writes, never a mix."""
        path = f"{prefix}/contended"
        for round_ in range(PUT_ROUNDS):
            payloads = [
                bytes([index + 1]) * suite.concurrent_put_size
                for index in range(suite.concurrent_putters)
            ]
            payloads = [p[:-8] + random_bytes(8) for p in payloads]

            def put(index: int, payloads: list[bytes] = payloads) -> None:
                driver.put_content(path, payloads[index])

            run_threads(suite.concurrent_putters, put)
            result = driver.get_content(path)
            assert result in payloads, (
                f"round {round_}: {len(result)} bytes that are none of the "
                f"{len(payloads)} writes (first byte {result[:1]!r})"
            )
            assert driver.stat(path).size == len(result)

"""Small tools the conformance cases share: test data, whole-stream reads, bulk population.

Content comes from :func:`random_bytes` (seeded when a case needs to regenerate it, as the
large stream does to avoid holding it twice). :func:`read_all` drains a stream however the
driver chunks it, :func:`populate` writes many files concurrently so that the listing-page
cases stay quick on remote backends, and :func:`assert_names_driver` checks that an error
names the driver it came from.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from distribution_storage.driver.contract import FileWriter, StorageDriver
from distribution_storage.driver.errors import StorageDriverError

READ_CHUNK = 1024 * 1024
POPULATE_WORKERS = 8


def random_bytes(size: int, seed: int | None = None) -> bytes:
    """``size`` random bytes; the same bytes again for the same ``seed``."""
    if seed is None:
        return secrets.token_bytes(size)
    return random.Random(seed).randbytes(size)


def seeded_chunks(size: int, seed: int, chunk: int) -> Iterator[bytes]:
    """``size`` reproducible random bytes in pieces of at most ``chunk`` bytes."""
    rng = random.Random(seed)
    left = size
    while left > 0:
        piece = min(chunk, left)
        yield rng.randbytes(piece)
        left -= piece


def read_all(stream: BinaryIO) -> bytes:
    """Everything left in ``stream``, read in chunks until it reports its end; then closed."""
    parts = []
    with stream:
        while True:
            data = stream.read(READ_CHUNK)
            if not data:
                break
            parts.append(data)
    return b"".join(parts)


def stream_sha256(stream: BinaryIO) -> tuple[str, int]:
    """The SHA-256 hex digest and length of everything left in ``stream``; then closed."""
    digest = hashlib.sha256()
    total = 0
    with stream:
        while True:
            data = stream.read(READ_CHUNK)
            if not data:
                break
            digest.update(data)
            total += len(data)
    return digest.hexdigest(), total


def read_path(driver: StorageDriver, path: str, offset: int = 0) -> bytes:
    """The content of ``path`` from ``offset``, through a reader."""
    return read_all(driver.reader(path, offset))


def write_all(writer: FileWriter, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or an iterable of pieces) to ``writer``, checking each count."""
    pieces = [data] if isinstance(data, bytes) else data
    for piece in pieces:
        written = writer.write(piece)
        assert written == len(piece), f"write returned {written} for {len(piece)} bytes"


def populate(driver: StorageDriver, files: Mapping[str, bytes]) -> None:
    """Store every ``path: content`` of ``files``, several at a time."""
    with ThreadPoolExecutor(POPULATE_WORKERS) as pool:
        for future in [pool.submit(driver.put_content, p, d) for p, d in files.items()]:
            future.result()


def assert_names_driver(exc: BaseException, driver: StorageDriver) -> None:
    """Assert that ``exc`` is a driver error carrying the driver's name, in text too."""
    assert isinstance(exc, StorageDriverError), f"{type(exc).__name__} is no StorageDriverError"
    assert exc.driver == driver.name, f"error names driver {exc.driver!r}, not {driver.name!r}"
    assert driver.name in str(exc), f"message {str(exc)!r} does not name {driver.name!r}"


def check_bytes(actual: bytes, expected: bytes, what: str = "content") -> None:
    """Fail with a short description when ``actual`` differs from ``expected``.

    Used instead of ``assert actual == expected``: for MiB-sized values pytest's diff of the
    two would take minutes.
    """
    if actual == expected:
        return
    common = min(len(actual), len(expected))
    first = next((i for i in range(common) if actual[i] != expected[i]), common)
    raise AssertionError(
        f"{what}: got {len(actual)} bytes, expected {len(expected)}; "
        f"first difference at offset {first}; sha256 "
        f"{hashlib.sha256(actual).hexdigest()[:16]}... != "
        f"{hashlib.sha256(expected).hexdigest()[:16]}..."
    )

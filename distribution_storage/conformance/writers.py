"""Conformance cases for the FileWriter discipline, beyond distribution's suite.

Writing after commit, cancel or close raises WriterClosedError; close after commit is fine;
cancel leaves nothing behind, including the bytes of resumed earlier sessions; appending to
a missing path raises PathNotFoundError; and a writer closed by one driver instance resumes
correctly in a *new* instance (a new process, in real life). A writer keeps no power over a
file that was moved away from its path (a registry commits an upload by moving it).
"""

from __future__ import annotations

import contextlib

import pytest

from distribution_storage.conformance.base import ConformanceBase, DriverFactory
from distribution_storage.conformance.helpers import (
    assert_names_driver,
    random_bytes,
    read_path,
    write_all,
)
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import (
    PathNotFoundError,
    StorageDriverError,
    WriterClosedError,
)
from distribution_storage.driver.wrapper import validated


class WriterCases(ConformanceBase):
    """What a writer allows after commit, close and cancel, and resuming across instances."""

    def test_write_after_commit_raises(self, driver: StorageDriver, prefix: str) -> None:
        """After commit, write raises WriterClosedError; close is allowed; content stays."""
        path = f"{prefix}/committed"
        writer = driver.writer(path)
        write_all(writer, b"first")
        writer.commit()
        with pytest.raises(WriterClosedError) as caught:
            writer.write(b"more")
        assert_names_driver(caught.value, driver)
        with pytest.raises(WriterClosedError):
            writer.commit()
        writer.close()
        assert driver.get_content(path) == b"first"

    def test_write_after_close_raises(self, driver: StorageDriver, prefix: str) -> None:
        """After close, write and commit raise WriterClosedError."""
        writer = driver.writer(f"{prefix}/closed")
        write_all(writer, b"data")
        writer.close()
        with pytest.raises(WriterClosedError):
            writer.write(b"more")
        with pytest.raises(WriterClosedError):
            writer.commit()
        resumed = driver.writer(f"{prefix}/closed", append=True)
        resumed.cancel()

    def test_write_after_cancel_raises(self, driver: StorageDriver, prefix: str) -> None:
        """After cancel, write and commit raise WriterClosedError and nothing was stored."""
        path = f"{prefix}/cancelled"
        writer = driver.writer(path)
        write_all(writer, random_bytes(1000))
        writer.cancel()
        with pytest.raises(WriterClosedError):
            writer.write(b"more")
        with pytest.raises(WriterClosedError):
            writer.commit()
        with pytest.raises(PathNotFoundError):
            driver.stat(path)

    def test_cancel_leaves_nothing(self, driver: StorageDriver, prefix: str) -> None:
        """Cancelling a resumed writer discards the earlier sessions' bytes too."""
        path = f"{prefix}/dir/discarded"
        writer = driver.writer(path)
        write_all(writer, random_bytes(100))
        writer.close()
        resumed = driver.writer(path, append=True)
        assert resumed.size == 100
        write_all(resumed, random_bytes(100))
        resumed.cancel()
        with pytest.raises(PathNotFoundError):
            driver.get_content(path)
        with pytest.raises(PathNotFoundError):
            driver.writer(path, append=True)
        if _exists(driver, f"{prefix}/dir"):
            assert path not in driver.list(f"{prefix}/dir")

    def test_append_to_missing_path_raises(self, driver: StorageDriver, prefix: str) -> None:
        """``writer(path, append=True)`` on a missing path raises PathNotFoundError."""
        with pytest.raises(PathNotFoundError) as caught:
            driver.writer(f"{prefix}/missing", append=True)
        assert_names_driver(caught.value, driver)

    def test_writer_as_context_manager_closes(self, driver: StorageDriver, prefix: str) -> None:
        """Leaving a ``with writer`` block closes it; the bytes can be resumed and committed."""
        path = f"{prefix}/context"
        with driver.writer(path) as writer:
            write_all(writer, b"abc")
        assert writer.closed
        with pytest.raises(WriterClosedError):
            writer.write(b"x")
        resumed = driver.writer(path, append=True)
        assert resumed.size == 3
        write_all(resumed, b"def")
        resumed.commit()
        assert driver.get_content(path) == b"abcdef"

    def test_resumed_writer_in_new_instance(
        self, driver: StorageDriver, driver_factory: DriverFactory, prefix: str
    ) -> None:
        """A writer closed in one driver instance resumes in a new one and commits it all."""
        path = f"{prefix}/resumed"
        first, second = random_bytes(4096), random_bytes(1000)
        writer = driver.writer(path)
        write_all(writer, first)
        writer.close()
        with validated(driver_factory()) as other:
            resumed = other.writer(path, append=True)
            assert resumed.size == len(first)
            write_all(resumed, second)
            resumed.commit()
            resumed.close()
            assert read_path(other, path) == first + second
        assert driver.get_content(path) == first + second
        assert driver.stat(path).size == len(first) + len(second)

    @pytest.mark.parametrize("early", [100, 256 * 1024], ids=["buffered", "stored"])
    def test_writer_keeps_no_power_over_a_moved_file(
        self, driver: StorageDriver, prefix: str, early: int
    ) -> None:
        """A writer resumed on a path, whose file another writer then commits and someone
        moves away, cannot change the moved file: its later write and commit raise a
        StorageDriverError or reach nothing the destination serves."""
        path, dest = f"{prefix}/upload/data", f"{prefix}/blob/data"
        with driver.writer(path) as first:
            write_all(first, random_bytes(4096))
        held = driver.writer(path, append=True)
        write_all(held, random_bytes(early))
        committer = driver.writer(path, append=True)
        write_all(committer, random_bytes(1000))
        committer.commit()
        driver.move(path, dest)
        moved = driver.get_content(dest)
        with contextlib.suppress(StorageDriverError):
            write_all(held, random_bytes(300))
            held.commit()
        with contextlib.suppress(StorageDriverError):
            held.close()
        assert driver.get_content(dest) == moved


def _exists(driver: StorageDriver, path: str) -> bool:
    try:
        driver.stat(path)
    except PathNotFoundError:
        return False
    return True

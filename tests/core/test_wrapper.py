"""The validating wrapper: argument checks, driver names in errors, translation, scrubbing."""

from __future__ import annotations

import io
from typing import BinaryIO

import pytest

from distribution_storage import (
    InvalidOffsetError,
    PathNotFoundError,
    StorageDriverError,
    WriterClosedError,
)
from distribution_storage.driver import validated
from distribution_storage.drivers.inmemory import InMemoryDriver

SECRET = "s3cr3t-Key-0123456789"


class LeakyDriver(InMemoryDriver):
    """Fails the way an SDK does: foreign exceptions whose text contains a credential."""

    name = "leaky"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (SECRET,)

    def get_content(self, path: str) -> bytes:
        raise RuntimeError(f"signature mismatch for key {SECRET}")

    def delete(self, path: str) -> None:
        raise PathNotFoundError(f"{path} (auth {SECRET})")

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        class Broken(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def read(self, size: int | None = -1) -> bytes:
                raise ConnectionResetError(f"reset while reading with {SECRET}")

        return Broken()  # type: ignore[return-value]


def test_foreign_errors_become_storage_driver_errors_with_the_cause_kept() -> None:
    driver = validated(LeakyDriver())
    with pytest.raises(StorageDriverError) as caught:
        driver.get_content("/a")
    assert caught.value.driver == "leaky"
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert "get_content /a" in str(caught.value)


def test_credentials_are_scrubbed_from_every_error() -> None:
    driver = validated(LeakyDriver())
    for action in (
        lambda: driver.get_content("/a"),
        lambda: driver.delete("/a"),
        lambda: driver.reader("/a").read(),
    ):
        with pytest.raises(StorageDriverError) as caught:
            action()
        assert SECRET not in str(caught.value)
        assert "***" in str(caught.value)
        assert str(caught.value).startswith("leaky: ")


def test_typed_errors_keep_their_type_and_gain_the_driver_name() -> None:
    driver = validated(InMemoryDriver())
    with pytest.raises(FileNotFoundError) as caught:
        driver.stat("/missing")
    assert isinstance(caught.value, PathNotFoundError)
    assert str(caught.value) == "inmemory: path not found: /missing"


def test_negative_offset_is_rejected_before_the_driver_runs() -> None:
    inner = InMemoryDriver()
    driver = validated(inner)
    with pytest.raises(InvalidOffsetError) as caught:
        driver.reader("/missing", -1)
    assert caught.value.offset == -1
    assert caught.value.driver == "inmemory"


def test_writer_discipline_through_the_wrapper() -> None:
    driver = validated(InMemoryDriver())
    writer = driver.writer("/w")
    writer.write(b"abc")
    writer.commit()
    writer.close()  # close after commit is fine
    with pytest.raises(WriterClosedError) as caught:
        writer.write(b"more")
    assert caught.value.driver == "inmemory"
    assert driver.get_content("/w") == b"abc"

    cancelled = driver.writer("/c")
    cancelled.write(b"x")
    cancelled.cancel()
    with pytest.raises(WriterClosedError):
        cancelled.write(b"y")
    with pytest.raises(PathNotFoundError):
        driver.stat("/c")


def test_validated_does_not_wrap_twice() -> None:
    driver = validated(InMemoryDriver())
    assert validated(driver) is driver

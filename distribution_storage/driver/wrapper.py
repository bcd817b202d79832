"""The validating wrapper that stands in front of every driver.

Drivers implement only their backend's logic; everything a caller may get wrong is checked
here, once, before a driver runs: path syntax (the root only where a verb accepts it),
negative offsets. On the way back, every error gets the driver's name, a backend failure that
is not one of the typed errors becomes a :class:`StorageDriverError` with the original as its
cause, and any credential the driver declares is scrubbed from the message. Streams and
writers the driver returns are wrapped the same way, so an error raised halfway through a
read or a write obeys the same rules. :func:`distribution_storage.open_driver` always returns
a driver behind this wrapper.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import BinaryIO, NoReturn, TypeVar

from distribution_storage.driver.contract import FileInfo, FileWriter, StorageDriver, WalkPrune
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import InvalidOffsetError, StorageDriverError
from distribution_storage.driver.paths import ROOT, check_path
from distribution_storage.driver.streams import ReadableStream

T = TypeVar("T")


class ErrorTranslator:
    """Turns whatever a driver raised into a named, scrubbed :class:`StorageDriverError`."""

    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    def scrub(self, text: str) -> str:
        """``text`` with every declared secret replaced by ``***``."""
        for secret in self.driver.secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def translate(self, exc: Exception, operation: str, path: str) -> NoReturn:
        """Raise ``exc`` as a named driver error; the original stays as the cause."""
        if isinstance(exc, StorageDriverError):
            if not exc.driver:
                exc.driver = self.driver.name
            scrubbed = self.scrub(exc.detail)
            if scrubbed != exc.detail:
                exc.detail = scrubbed
                exc.args = (scrubbed,)
            raise exc
        detail = self.scrub(f"{operation} {path}: {type(exc).__name__}: {exc}")
        raise StorageDriverError(detail, driver=self.driver.name) from exc

    def call(self, operation: str, path: str, fn: Callable[[], T]) -> T:
        """Run ``fn``, translating what it raises."""
        try:
            return fn()
        except Exception as exc:  # every backend failure is translated
            self.translate(exc, operation, path)


class ValidatingDriver(DelegatingDriver):
    """Checks arguments before the driver runs and names the driver in every error."""

    def __init__(self, inner: StorageDriver) -> None:
        super().__init__(inner)
        self._errors = ErrorTranslator(inner)

    def _path(self, path: str, *, allow_root: bool = False) -> str:
        try:
            return check_path(path, allow_root=allow_root)
        except StorageDriverError as exc:
            self._errors.translate(exc, "check", str(path))

    def get_content(self, path: str) -> bytes:
        path = self._path(path)
        return self._errors.call("get_content", path, lambda: self.inner.get_content(path))

    def put_content(self, path: str, data: bytes) -> None:
        path = self._path(path)
        self._errors.call("put_content", path, lambda: self.inner.put_content(path, data))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        path = self._path(path)
        if offset < 0:
            self._errors.translate(InvalidOffsetError(path, offset), "reader", path)
        stream = self._errors.call("reader", path, lambda: self.inner.reader(path, offset))
        return TranslatingReader(stream, self._errors, path)  # type: ignore[return-value]

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        path = self._path(path)
        inner = self._errors.call("writer", path, lambda: self.inner.writer(path, append=append))
        return TranslatingWriter(inner, self._errors)

    def stat(self, path: str) -> FileInfo:
        path = self._path(path, allow_root=True)
        return self._errors.call("stat", path, lambda: self.inner.stat(path))

    def list(self, path: str) -> list[str]:
        path = self._path(path, allow_root=True)
        return self._errors.call("list", path, lambda: self.inner.list(path))

    def move(self, source: str, dest: str) -> None:
        source, dest = self._path(source), self._path(dest)
        self._errors.call("move", source, lambda: self.inner.move(source, dest))

    def delete(self, path: str) -> None:
        path = self._path(path)
        self._errors.call("delete", path, lambda: self.inner.delete(path))

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        path = self._path(path)
        return self._errors.call(
            "redirect_url", path, lambda: self.inner.redirect_url(path, method=method)
        )

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        path = self._path(path, allow_root=True)
        if start_after is not None:
            start_after = self._path(start_after, allow_root=True)
        entries = self._errors.call(
            "walk",
            path,
            lambda: self.inner.walk(path, start_after=start_after, prune=prune, details=details),
        )
        return self._translated_iter(entries, path)

    def _translated_iter(self, entries: Iterator[FileInfo], path: str) -> Iterator[FileInfo]:
        while True:
            try:
                entry = next(entries)
            except StopIteration:
                return
            except Exception as exc:  # every backend failure is translated
                self._errors.translate(exc, "walk", path)
            yield entry

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        checked = [self._path(p) for p in paths]
        return self._errors.call("delete_many", ROOT, lambda: self.inner.delete_many(checked))

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        checked = [self._path(p) for p in paths]
        return self._errors.call("delete_files", ROOT, lambda: self.inner.delete_files(checked))

    def copy(self, source: str, dest: str) -> None:
        source, dest = self._path(source), self._path(dest)
        self._errors.call("copy", source, lambda: self.inner.copy(source, dest))

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        path = self._path(path, allow_root=True)
        return self._errors.call(
            "abort_pending_uploads",
            path,
            lambda: self.inner.abort_pending_uploads(path, older_than=older_than),
        )


class TranslatingReader(ReadableStream):
    """A read-only stream over a driver's stream that translates the errors it raises."""

    def __init__(self, stream: BinaryIO, errors: ErrorTranslator, path: str) -> None:
        super().__init__(stream)
        self._errors = errors
        self._path = path

    def _read(self, size: int) -> bytes:
        try:
            return super()._read(size)
        except Exception as exc:  # every backend failure is translated
            self._errors.translate(exc, "read", self._path)


class TranslatingWriter(FileWriter):
    """A :class:`FileWriter` over a driver's writer that translates the errors it raises."""

    def __init__(self, inner: FileWriter, errors: ErrorTranslator) -> None:
        super().__init__(inner.path)
        self._inner = inner
        self._errors = errors

    @property
    def size(self) -> int:
        return self._inner.size

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._errors.call("write", self.path, lambda: FileWriter.write(self, data))

    def commit(self) -> None:
        self._errors.call("commit", self.path, lambda: FileWriter.commit(self))

    def close(self) -> None:
        self._errors.call("close", self.path, lambda: FileWriter.close(self))

    def cancel(self) -> None:
        self._errors.call("cancel", self.path, lambda: FileWriter.cancel(self))

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._inner.write(data)

    def _close(self) -> None:
        self._inner.close()

    def _commit(self) -> None:
        self._inner.commit()

    def _cancel(self) -> None:
        self._inner.cancel()


def validated(driver: StorageDriver) -> StorageDriver:
    """``driver`` behind the validating wrapper (unchanged if it already is)."""
    if isinstance(driver, ValidatingDriver):
        return driver
    return ValidatingDriver(driver)

"""The ``metrics`` storage middleware: counts the driver operations a tool performs.

GC and migration report how many operations of each verb they issued, which is what costs
time and money on object stores. A ``walk`` counts once however many listing pages it takes;
the driver's own request count may be higher.
"""

from __future__ import annotations

import builtins
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO, TypeVar

from distribution_storage.driver.contract import FileInfo, FileWriter, StorageDriver, WalkPrune
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.paths import ROOT

T = TypeVar("T")


class CountingDriver(DelegatingDriver):
    """Forwards to ``inner`` and counts every call by verb (thread-safe)."""

    def __init__(self, inner: StorageDriver) -> None:
        super().__init__(inner)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, verb: str, action: Callable[[], T]) -> T:
        with self._lock:
            self._counts[verb] += 1
        return action()

    def snapshot(self) -> dict[str, int]:
        """The counts so far, by verb."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def get_content(self, path: str) -> bytes:
        return self._count("get_content", lambda: self.inner.get_content(path))

    def put_content(self, path: str, data: bytes) -> None:
        self._count("put_content", lambda: self.inner.put_content(path, data))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self._count("reader", lambda: self.inner.reader(path, offset))

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        return self._count("writer", lambda: self.inner.writer(path, append=append))

    def stat(self, path: str) -> FileInfo:
        return self._count("stat", lambda: self.inner.stat(path))

    def list(self, path: str) -> builtins.list[str]:
        return self._count("list", lambda: self.inner.list(path))

    def move(self, source: str, dest: str) -> None:
        self._count("move", lambda: self.inner.move(source, dest))

    def delete(self, path: str) -> None:
        self._count("delete", lambda: self.inner.delete(path))

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        return self._count(
            "walk",
            lambda: self.inner.walk(path, start_after=start_after, prune=prune, details=details),
        )

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        return self._count("delete_many", lambda: self.inner.delete_many(paths))

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        return self._count("delete_files", lambda: self.inner.delete_files(paths))

    def copy(self, source: str, dest: str) -> None:
        self._count("copy", lambda: self.inner.copy(source, dest))


def create(inner: StorageDriver, options: Mapping[str, Any]) -> StorageDriver:
    """Build the middleware; it takes no options."""
    if options:
        raise ConfigurationError("takes no options", key="middleware.storage.metrics")
    return CountingDriver(inner)

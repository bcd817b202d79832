"""A driver that forwards every verb to another: the base of the wrapper and the middlewares.

Storage middleware (redirect, rewrite, cloudfront, fault injection) changes one or two verbs
and passes the rest through; subclassing :class:`DelegatingDriver` keeps that pass-through
in one place.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import BinaryIO

from distribution_storage.driver.contract import (
    Capability,
    FileInfo,
    FileWriter,
    StorageDriver,
    WalkPrune,
)
from distribution_storage.driver.paths import ROOT


class DelegatingDriver(StorageDriver):
    """Forwards every verb to ``inner``; subclasses override what they change."""

    def __init__(self, inner: StorageDriver) -> None:
        self.inner = inner

    @property
    def name(self) -> str:  # type: ignore[override]
        """The name of the driver at the bottom of the stack."""
        return self.inner.name

    @property
    def capabilities(self) -> frozenset[Capability]:  # type: ignore[override]
        """The capabilities of the driver at the bottom of the stack."""
        return self.inner.capabilities

    @property
    def read_concurrency(self) -> int | None:  # type: ignore[override]
        """The read concurrency of the driver at the bottom of the stack."""
        return self.inner.read_concurrency

    @property
    def delete_concurrency(self) -> int | None:  # type: ignore[override]
        """The delete concurrency of the driver at the bottom of the stack."""
        return self.inner.delete_concurrency

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.inner.secrets

    def get_content(self, path: str) -> bytes:
        return self.inner.get_content(path)

    def put_content(self, path: str, data: bytes) -> None:
        self.inner.put_content(path, data)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self.inner.reader(path, offset)

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        return self.inner.writer(path, append=append)

    def stat(self, path: str) -> FileInfo:
        return self.inner.stat(path)

    def list(self, path: str) -> list[str]:
        return self.inner.list(path)

    def move(self, source: str, dest: str) -> None:
        self.inner.move(source, dest)

    def delete(self, path: str) -> None:
        self.inner.delete(path)

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        return self.inner.redirect_url(path, method=method)

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        return self.inner.walk(path, start_after=start_after, prune=prune, details=details)

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        return self.inner.delete_many(paths)

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        return self.inner.delete_files(paths)

    def copy(self, source: str, dest: str) -> None:
        self.inner.copy(source, dest)

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        return self.inner.abort_pending_uploads(path, older_than=older_than)

    def close(self) -> None:
        self.inner.close()

    def unwrap(self) -> StorageDriver:
        """The driver at the bottom of the stack of wrappers and middlewares."""
        inner = self.inner
        return inner.unwrap() if isinstance(inner, DelegatingDriver) else inner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"

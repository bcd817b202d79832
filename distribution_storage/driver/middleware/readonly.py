"""The ``readonly`` storage middleware: every verb that would change the store is refused.

fsck runs behind it, so "fsck never changes the store" holds by construction rather than by
care; operators can put it in front of a store they only mean to inspect.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NoReturn

from distribution_storage.driver.contract import FileWriter, StorageDriver
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import ConfigurationError, UnsupportedMethodError


class ReadOnlyDriver(DelegatingDriver):
    """Forwards reads to ``inner``; raises :class:`UnsupportedMethodError` for any write."""

    def _refuse(self, verb: str) -> NoReturn:
        raise UnsupportedMethodError(f"{verb} (the store is opened read-only)", driver=self.name)

    def put_content(self, path: str, data: bytes) -> None:
        self._refuse("put_content")

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        self._refuse("writer")

    def move(self, source: str, dest: str) -> None:
        self._refuse("move")

    def delete(self, path: str) -> None:
        self._refuse("delete")

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        self._refuse("delete_many")

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        self._refuse("delete_files")

    def copy(self, source: str, dest: str) -> None:
        self._refuse("copy")

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        self._refuse("abort_pending_uploads")


def create(inner: StorageDriver, options: Mapping[str, Any]) -> StorageDriver:
    """Build the middleware; it takes no options."""
    if options:
        raise ConfigurationError("takes no options", key="middleware.storage.readonly")
    return ReadOnlyDriver(inner)

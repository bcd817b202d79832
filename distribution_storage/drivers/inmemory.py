"""The ``inmemory`` driver: a tree of dicts behind one lock, for tests and embedding.

Every instance has its own tree; nothing is shared between instances. Writers buffer their
bytes and store them at the path on ``close`` or ``commit``, so a resumed writer finds what
an earlier one closed. A writer remembers which file it started from (the one it resumed, or
none) and stores, writes or cancels only while that file is still the one at its path: once
another writer stored there, or the file was moved or deleted, it raises
:class:`PathNotFoundError` (the driver contract's fence).
"""

from __future__ import annotations

import builtins
import io
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from distribution_storage.driver.contract import FileInfo, FileWriter, StorageDriver
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.driver.paths import ROOT, components, join, parent_of


@dataclass
class _File:
    data: bytes
    mod_time: datetime


@dataclass
class _Dir:
    children: dict[str, _File | _Dir] = field(default_factory=dict)
    mod_time: datetime = field(default_factory=lambda: datetime.now(UTC))


class InMemoryDriver(StorageDriver):
    """A thread-safe in-memory storage tree; takes no parameters."""

    name = "inmemory"
    read_concurrency = 1
    """Every call is Python in this process: more threads only contend for its lock."""

    def __init__(self) -> None:
        self._root = _Dir()
        self._lock = threading.RLock()
        self._clock = datetime.min.replace(tzinfo=UTC)

    def _now(self) -> datetime:
        # Strictly increasing, so a rewrite always has a later mod_time than the write before.
        self._clock = max(datetime.now(UTC), self._clock + datetime.resolution)
        return self._clock

    def _find(self, path: str) -> _File | _Dir:
        node: _File | _Dir = self._root
        for part in components(path):
            if not isinstance(node, _Dir) or part not in node.children:
                raise PathNotFoundError(path)
            node = node.children[part]
        return node

    def _file(self, path: str) -> _File:
        node = self._find(path)
        if not isinstance(node, _File):
            raise PathNotFoundError(path)
        return node

    def _parent_dir(self, path: str, *, create: bool) -> _Dir:
        node = self._root
        parts = components(path)[:-1]
        for depth, part in enumerate(parts):
            child = node.children.get(part)
            if child is None:
                if not create:
                    raise PathNotFoundError(path)
                child = node.children[part] = _Dir()
            if not isinstance(child, _Dir):
                prefix = "/" + "/".join(parts[: depth + 1])
                raise StorageDriverError(f"cannot create {path}: {prefix} is a file")
            node = child
        return node

    def _store(self, path: str, data: bytes) -> None:
        with self._lock:
            parent = self._parent_dir(path, create=True)
            name = components(path)[-1]
            if isinstance(parent.children.get(name), _Dir):
                raise StorageDriverError(f"cannot write {path}: it is a directory")
            parent.children[name] = _File(data, self._now())

    def get_content(self, path: str) -> bytes:
        with self._lock:
            return self._file(path).data

    def put_content(self, path: str, data: bytes) -> None:
        self._store(path, bytes(data))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        with self._lock:
            data = self._file(path).data
        return io.BytesIO(data[offset:])

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        with self._lock:
            base = self._file(path) if append else self._file_or_none(path)
        return _InMemoryWriter(self, path, base, resumed=append)

    def _file_or_none(self, path: str) -> _File | None:
        try:
            node = self._find(path)
        except PathNotFoundError:
            return None
        return node if isinstance(node, _File) else None

    def _store_over(self, path: str, base: _File | None, data: bytes) -> _File:
        """Store ``data`` at ``path`` if the file there is still ``base`` (None: no file)."""
        with self._lock:
            if self._file_or_none(path) is not base:
                raise PathNotFoundError(path)
            self._store(path, data)
            return self._file(path)

    def stat(self, path: str) -> FileInfo:
        with self._lock:
            node = self._find(path)
        if isinstance(node, _Dir):
            return FileInfo(path, 0, node.mod_time, True)
        return FileInfo(path, len(node.data), node.mod_time, False)

    def list(self, path: str) -> list[str]:
        with self._lock:
            node = self._find(path)
            if not isinstance(node, _Dir):
                raise PathNotFoundError(path)
            return [join(path, name) for name in sorted(node.children)]

    def move(self, source: str, dest: str) -> None:
        with self._lock:
            node = self._find(source)
            if source == dest:
                return
            if dest.startswith(source + "/"):
                raise StorageDriverError(f"cannot move {source} into itself ({dest})")
            parent = self._parent_dir(dest, create=True)
            parent.children[components(dest)[-1]] = node
            self._parent_dir(source, create=False).children.pop(components(source)[-1])

    def delete(self, path: str) -> None:
        with self._lock:
            self._find(path)
            self._parent_dir(path, create=False).children.pop(components(path)[-1])

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete each file, and its directory when that is left empty (as the filesystem
        driver does, even when the file was already gone)."""
        missing = []
        with self._lock:
            for path in paths:
                name = components(path)[-1]
                try:
                    parent = self._parent_dir(path, create=False)
                except StorageDriverError:  # missing, or a parent is a file
                    missing.append(path)
                    continue
                node = parent.children.get(name)
                if isinstance(node, _Dir):
                    raise StorageDriverError(f"cannot delete {path} as a file: a directory")
                if node is None:
                    missing.append(path)
                else:
                    del parent.children[name]
                directory = parent_of(path)
                if directory != ROOT and not parent.children:
                    grandparent = self._parent_dir(directory, create=False)
                    grandparent.children.pop(components(directory)[-1], None)
        return missing

    def __repr__(self) -> str:
        return "InMemoryDriver()"


class _InMemoryWriter(FileWriter):
    def __init__(
        self, driver: InMemoryDriver, path: str, base: _File | None, *, resumed: bool
    ) -> None:
        super().__init__(path)
        self._driver = driver
        self._base = base
        """The file this writer started from: it goes on only while that one is at the path."""
        self._buffer = bytearray(base.data if resumed and base is not None else b"")
        self._resumed = resumed

    @property
    def size(self) -> int:
        return len(self._buffer)

    def _check_base(self) -> None:
        with self._driver._lock:
            if self._driver._file_or_none(self.path) is not self._base:
                raise PathNotFoundError(self.path)

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._check_base()
        self._buffer += data

    def _close(self) -> None:
        self._base = self._driver._store_over(self.path, self._base, bytes(self._buffer))

    def _commit(self) -> None:
        self._base = self._driver._store_over(self.path, self._base, bytes(self._buffer))

    def _cancel(self) -> None:
        self._buffer.clear()
        if self._resumed:
            # The earlier sessions' bytes are stored at the path: they go too, unless the
            # file there is no longer the one this writer resumed.
            with self._driver._lock:
                if self._driver._file_or_none(self.path) is self._base:
                    self._driver.delete(self.path)

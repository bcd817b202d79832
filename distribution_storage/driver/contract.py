"""The storage driver contract: the verbs every backend implements over a tree of paths.

:class:`StorageDriver` is what a backend subclasses: the abstract verbs are its whole job.
The optional capabilities (batched delete, server-side copy, a fast walk) have generic
fallbacks here, written with the plain verbs, which a backend overrides when its service can
do better. Callers never use a bare driver: :func:`distribution_storage.open_driver` puts the
validating wrapper in front of it, which checks paths and offsets and names the driver in
every error. The semantics are distribution's ``StorageDriver``; see
``design/driver-contract.md``.
"""

from __future__ import annotations

import builtins
import enum
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, BinaryIO, ClassVar, Self

from distribution_storage.driver.errors import PathNotFoundError, WriterClosedError
from distribution_storage.driver.paths import ROOT, walk_key

COPY_BUFFER_SIZE = 8 * 1024 * 1024


class Capability(enum.Enum):
    """Optional abilities a driver declares; conformance cases skip by these, and only these."""

    REDIRECT = "redirect"
    """``redirect_url`` returns URLs that clients can fetch."""
    BATCH_DELETE = "batch-delete"
    """``delete_many`` removes many objects per request."""
    SERVER_SIDE_COPY = "server-side-copy"
    """``copy`` runs inside the service, without streaming the bytes through this process."""
    FLAT_WALK = "flat-walk"
    """``walk`` is served by flat listings rather than one list and one stat per entry."""
    PENDING_UPLOADS = "pending-uploads"
    """``abort_pending_uploads`` can clean backend-side upload debris (multipart uploads...)."""


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What ``stat`` and ``walk`` report about one path. Directories have size 0."""

    path: str
    size: int
    mod_time: datetime
    is_dir: bool


class FileWriter(ABC):
    """A resumable writer for one path, returned by :meth:`StorageDriver.writer`.

    ``write`` appends; ``close`` persists what was written so that ``writer(path,
    append=True)`` can resume it later, possibly in another process, without necessarily
    making it readable; ``commit`` makes the content visible; ``cancel`` discards it. After
    close, commit or cancel, writing raises :class:`WriterClosedError`; ``close`` after
    ``commit`` is allowed. Used as a context manager, the writer is closed on exit (never
    committed or cancelled implicitly).

    Backends implement the ``_write``/``_close``/``_commit``/``_cancel`` hooks; this class
    keeps the state machine, so every driver enforces the same discipline.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._state = "open"

    @property
    @abstractmethod
    def size(self) -> int:
        """Bytes written so far, including those persisted by earlier sessions."""

    @property
    def closed(self) -> bool:
        """True once the writer was closed, committed or cancelled."""
        return self._state != "open"

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``; returns its length."""
        self._require_open()
        if len(data) == 0:
            return 0
        self._write(data)
        return len(data)

    def commit(self) -> None:
        """Make everything written visible at the path."""
        self._require_open()
        self._commit()
        self._state = "committed"

    def close(self) -> None:
        """Persist what was written so that it can be resumed. Idempotent."""
        if self._state != "open":
            return
        self._close()
        self._state = "closed"

    def cancel(self) -> None:
        """Discard everything written, in this session and the resumed earlier ones.

        A writer that was closed is cancelled by resuming it (``append=True``) and
        cancelling that.
        """
        if self._state == "cancelled":
            return
        self._require_open()
        self._cancel()
        self._state = "cancelled"

    def _require_open(self) -> None:
        if self._state != "open":
            raise WriterClosedError(self.path, self._state)

    @abstractmethod
    def _write(self, data: bytes | bytearray | memoryview) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _cancel(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


WalkPrune = Callable[[FileInfo], bool]
"""Called with each directory ``walk`` yields; returning True skips that directory's subtree."""


class StorageDriver(ABC):
    """A storage backend: distribution's ``StorageDriver`` verbs over a tree of paths.

    Subclasses set ``name`` and implement the abstract verbs. Paths reaching a driver are
    already validated by the wrapper; a driver raises the typed errors of
    :mod:`distribution_storage.driver.errors` and may leave their driver name empty.
    """

    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> Self:
        """Build the driver from distribution ``config.yml`` parameters (strings or native)."""
        from distribution_storage.driver.parameters import ParameterReader

        ParameterReader(cls.name, parameters).finish()
        return cls()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Credential values the wrapper scrubs from every error message."""
        return ()

    @abstractmethod
    def get_content(self, path: str) -> bytes:
        """The whole content at ``path`` (meant for small objects)."""

    @abstractmethod
    def put_content(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path``, replacing all previous content; parents are implicit."""

    @abstractmethod
    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """A binary stream of the content from ``offset``; at or past the end, an empty one."""

    @abstractmethod
    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        """A :class:`FileWriter`: new content, or with ``append`` the resumed earlier one."""

    @abstractmethod
    def stat(self, path: str) -> FileInfo:
        """Size, modification time and kind of ``path``."""

    @abstractmethod
    def list(self, path: str) -> list[str]:
        """The absolute paths of the direct children of directory ``path``."""

    @abstractmethod
    def move(self, source: str, dest: str) -> None:
        """Move ``source`` to ``dest``, overwriting it; a missing source leaves dest untouched."""

    @abstractmethod
    def delete(self, path: str) -> None:
        """Delete ``path`` and everything below it, never a sibling sharing a prefix."""

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        """A URL a client can fetch directly for about 20 minutes, or None."""
        return None

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
    ) -> Iterator[FileInfo]:
        """Every file and directory below ``path``, depth first, children in byte order.

        ``start_after`` resumes after that path in walk order (it need not exist, nor lie
        under ``path``). ``prune`` is asked about each yielded directory; True skips its
        subtree. Stop early by leaving the loop. Entries removed while the walk runs are
        left out. This generic version lists each directory and stats each entry; backends
        with flat listings override it.
        """
        after = walk_key(start_after) if start_after is not None else None
        return self._walk_listing(path, after, prune, self.list_infos, top=True)

    def _walk_listing(
        self,
        path: str,
        after: tuple[str, ...] | None,
        prune: WalkPrune | None,
        list_infos: Callable[[str], builtins.list[FileInfo] | None],
        *,
        top: bool,
    ) -> Iterator[FileInfo]:
        """The generic walk below ``path``; ``list_infos`` lists a directory with file info
        (or returns None to have it listed and stat'ed entry by entry)."""
        try:
            listed = list_infos(path)
            if listed is None:
                children: builtins.list[tuple[str, FileInfo | None]] = [
                    (child, None) for child in self.list(path)
                ]
            else:
                children = [(info.path, info) for info in listed]
        except PathNotFoundError:
            if top:
                raise
            return
        children.sort(key=lambda pair: walk_key(pair[0]))
        for child, known in children:
            key = walk_key(child)
            resumes_inside = after is not None and after[: len(key)] == key
            if after is not None and key <= after and not resumes_inside:
                continue
            try:
                info = known if known is not None else self.stat(child)
            except PathNotFoundError:
                continue
            if after is None or key > after:
                yield info
                if info.is_dir and not (prune and prune(info)):
                    yield from self._walk_listing(child, None, prune, list_infos, top=False)
            elif info.is_dir:
                yield from self._walk_listing(child, after, prune, list_infos, top=False)

    def list_infos(self, path: str) -> builtins.list[FileInfo] | None:
        """The direct children of ``path`` with their file info, if the backend has it cheaply.

        The generic ``walk`` uses this to avoid one ``stat`` per entry; None (the default)
        means "not cheaply": ``walk`` then lists and stats.
        """
        return None

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete each path (recursively); returns the paths that were missing."""
        missing: builtins.list[str] = []
        for path in paths:
            try:
                self.delete(path)
            except PathNotFoundError:
                missing.append(path)
        return missing

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete files the caller knows exist and have nothing below them.

        Unlike :meth:`delete_many`, nothing is listed first, so an object store can delete
        a thousand keys per request. A path that is missing is no error (it is returned); a
        directory must not be passed. This fallback deletes one path at a time.
        """
        return self.delete_many(paths)

    def copy(self, source: str, dest: str) -> None:
        """Copy ``source`` to ``dest``, replacing it; server-side where the backend can."""
        with self.reader(source) as src:
            writer = self.writer(dest)
            try:
                shutil.copyfileobj(src, writer, COPY_BUFFER_SIZE)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        """Abort backend-side upload debris below ``path`` started before ``older_than``.

        Object stores keep unfinished multipart uploads (or sessions, or blocks) that cost
        money; drivers that have them override this. Returns how many were aborted.
        """
        return 0

    def close(self) -> None:
        """Release clients, pools and connections the driver holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

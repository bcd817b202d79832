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
from datetime import datetime
from types import TracebackType
from typing import Any, BinaryIO, ClassVar, Self

from distribution_storage.driver.errors import PathNotFoundError, WriterClosedError
from distribution_storage.driver.fileinfo import UNKNOWN_TIME, FileInfo, WalkPrune
from distribution_storage.driver.paths import ROOT
from distribution_storage.driver.walking import walk_listing

__all__ = [
    "COPY_BUFFER_SIZE",
    "DELETE_BATCH",
    "UNKNOWN_TIME",
    "Capability",
    "FileInfo",
    "FileWriter",
    "StorageDriver",
    "WalkPrune",
    "collect_subtrees",
    "delete_workers",
    "read_workers",
]

COPY_BUFFER_SIZE = 8 * 1024 * 1024
DELETE_BATCH = 1000
"""The most paths a tool hands to one ``delete_files`` or ``delete_many`` call: what one bulk
delete request takes on S3; a driver whose bulk request takes fewer (Azure: 256) splits it."""


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
    DIRECTORY_TIMES = "directory-times"
    """A directory's ``mod_time`` is when an entry was last added to or removed from it (as
    on POSIX), so it is never older than a file inside; object stores, whose directories are
    key prefixes, have no such time."""


class FileWriter(ABC):
    """A resumable writer for one path, returned by :meth:`StorageDriver.writer`.

    ``write`` appends; ``close`` persists what was written so that ``writer(path,
    append=True)`` can resume it later, possibly in another process, without necessarily
    making it readable; ``commit`` makes the content visible; ``cancel`` discards it. After
    close, commit or cancel, writing raises :class:`WriterClosedError`; ``close`` after
    ``commit`` is allowed. Used as a context manager, the writer is closed on exit (never
    committed or cancelled implicitly).

    A writer writes to its path only. Once the file it writes was moved, deleted or replaced
    by someone else (another writer's commit, ``move``, ``delete``, ``put_content``), the
    writer never changes that file at its new place, nor anything else the store serves: its
    later ``write``, ``close`` and ``commit`` raise a :class:`StorageDriverError`
    (:class:`PathNotFoundError` where the driver can tell), or reach only the writer's own
    path; its ``cancel`` removes nothing that is not its own. A registry relies on this: it
    commits an upload by moving its data into the blob store, and a second session still
    holding the upload must not change the blob. (Filesystem: each write to the file is
    checked under a shared ``flock`` against the path's inode, and ``move`` renames under an
    exclusive one; inmemory: the file the writer started from must still be the one at the
    path; object stores: a writer's bytes go to its own pending upload, session or blocks,
    which an object moved away is no part of.)

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


def collect_subtrees(
    paths: Iterable[str], find: Callable[[str], builtins.list[str]]
) -> tuple[builtins.list[str], builtins.list[str]]:
    """The shared first half of a batched recursive delete on an object store.

    ``find`` lists the keys of one path and everything below it; returns every key found
    (each once, in order) and the paths that had none, so a driver deletes the keys in as
    few batch requests as its service allows and reports the missing paths.
    """
    keys: dict[str, None] = {}
    missing: builtins.list[str] = []
    for path in paths:
        found = find(path)
        if not found:
            missing.append(path)
        keys.update(dict.fromkeys(found))
    return builtins.list(keys), missing


class StorageDriver(ABC):
    """A storage backend: distribution's ``StorageDriver`` verbs over a tree of paths.

    Subclasses set ``name`` and implement the abstract verbs. Paths reaching a driver are
    already validated by the wrapper; a driver raises the typed errors of
    :mod:`distribution_storage.driver.errors` and may leave their driver name empty.
    """

    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    read_concurrency: ClassVar[int | None] = None
    """How many reads (listings, stats, reads) at once pay off. None for a remote service,
    where more requests in flight hide latency and the caller's ``workers`` decide; a
    driver whose calls run in this process, bound by its interpreter lock, says how many
    threads still help (tools use :func:`read_workers`)."""
    delete_concurrency: ClassVar[int | None] = None
    """How many ``delete_files`` calls at once a tool runs when its caller leaves the number
    of workers open. None: the tool's own default. A local disk gives more: an unlink waits
    for the filesystem's metadata outside the interpreter lock, so calls in flight overlap
    those waits (tools use :func:`delete_workers`)."""

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
        details: bool = True,
    ) -> Iterator[FileInfo]:
        """Every file and directory below ``path``, depth first, children in byte order.

        ``start_after`` resumes after that path in walk order (it need not exist, nor lie
        under ``path``). ``prune`` is asked about each yielded directory; True skips its
        subtree. Stop early by leaving the loop. Entries removed while the walk runs are
        passed over. ``details=False`` says the caller reads no size and no time: a driver
        that would pay a call per entry for them (a filesystem: one ``stat``) may then
        report size 0 and :data:`UNKNOWN_TIME`; paths and kinds are exact either way. This
        generic version lists each directory with :meth:`list_infos` (by default ``list``
        plus one ``stat`` per entry, which also tells the kind, so ``details`` changes
        nothing here); see :func:`distribution_storage.driver.walking.walk_listing`.
        """
        return walk_listing(self._infos, path, start_after=start_after, prune=prune)

    def _infos(self, path: str) -> builtins.list[FileInfo]:
        listed = self.list_infos(path)
        if listed is not None:
            return listed
        infos = []
        for child in self.list(path):
            try:
                infos.append(self.stat(child))
            except PathNotFoundError:
                continue  # removed meanwhile
        return infos

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


def read_workers(driver: StorageDriver, workers: int) -> int:
    """The threads worth running reads of ``driver`` on: ``workers``, bounded by the
    driver's ``read_concurrency``; at least one."""
    limit = driver.read_concurrency
    return max(1, workers if limit is None else min(workers, limit))


def delete_workers(driver: StorageDriver, workers: int | None, default: int) -> int:
    """The threads to run ``delete_files`` on: ``workers`` when the caller chose a number,
    else the driver's ``delete_concurrency``, else ``default``; at least one."""
    if workers is None:
        workers = driver.delete_concurrency or default
    return max(1, workers)

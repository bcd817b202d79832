"""Blob uploads: sessions that stream chunks into ``_uploads/<id>/data`` and commit by digest.

An upload is a directory ``repositories/<name>/_uploads/<id>/`` holding ``startedat`` (RFC
3339, UTC) and ``data``. Chunks are appended PATCH-style at the current offset and hashed as
they are written, so memory does not grow with the blob. ``close`` persists the data through
the driver's resumable writer; the same :class:`Registry` instance keeps the live hash object,
so continuing in this process costs nothing. Resuming elsewhere (another process, another
instance) cannot restore a Python hash state (``hashlib`` has no serialisable state, and
distribution's Go ``hashstates`` files are not readable from Python), so the digest is then
computed at commit by reading the stored data once, as distribution does when it has no
usable hash state. Commit checks size and digest; a mismatch removes the upload (as
distribution's handler does) and links nothing, and a blob is moved into place only after it
was verified, so no reader sees a blob under a digest its content does not have.

Two sessions may hold one upload (two requests of a client, or of two clients). Commit
therefore fences the data off before verifying it: it moves ``data`` to a name of its own
(``committing-<token>``), which no other session's writer can reach (the driver contract:
a writer keeps no power over a file moved away from its path). What is verified and then
moved into ``blobs/`` is that private object: if its size is not what this session
accounted for, another session's bytes are in it and the live hash is not trusted; it is
re-hashed. A session whose upload was committed, cancelled or purged under it fails with
:class:`BlobUploadUnknownError` at its next write, its close or its commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, Self

from distribution_storage.driver.contract import FileWriter
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.layout import (
    UPLOAD_COMMIT_PREFIX,
    Digest,
    blob_data_path,
    check_upload_id,
    upload_commit_path,
    upload_data_path,
    upload_dir,
    upload_started_at_path,
)
from distribution_storage.registry.blobs import BlobDescriptor, BlobStore, LinkedBlobStore
from distribution_storage.registry.errors import (
    BlobSizeMismatchError,
    BlobUploadInvalidError,
    BlobUploadUnknownError,
    DigestMismatchError,
    RegistryError,
    UploadOffsetError,
)

CHUNK_SIZE = 1024 * 1024
"""Bytes read per step when streaming into an upload or re-hashing one."""


def format_started_at(moment: datetime) -> str:
    """``moment`` as distribution writes ``startedat``: RFC 3339, UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_started_at(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (Go may write nanoseconds and an offset); ``ValueError``."""
    text = text.strip()
    if "." in text:
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)].ljust(6, "0") + rest[digits:]
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ByteSource(Protocol):
    """Anything with ``read(size) -> bytes`` (a file, a socket stream, a request body)."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...


class LiveHashes:
    """Hash objects of uploads closed by this process, so that continuing needs no re-read.

    Bounded: past ``limit`` entries the oldest is forgotten (its upload is then re-hashed
    from storage at commit). One instance belongs to one :class:`Registry`.
    """

    def __init__(self, limit: int = 1024) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[int, hashlib._Hash]] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit

    def keep(self, name: str, upload_id: str, offset: int, hasher: hashlib._Hash) -> None:
        """Remember the hash of ``offset`` bytes of an upload."""
        with self._lock:
            self._entries[(name, upload_id)] = (offset, hasher)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def take(self, name: str, upload_id: str) -> tuple[int, hashlib._Hash] | None:
        """Remove and return what was kept for the upload."""
        with self._lock:
            return self._entries.pop((name, upload_id), None)


class UploadSession:
    """One open upload: write chunks, then ``commit`` with the client's digest, or ``cancel``.

    Use it as a context manager (or call ``close``) so what was written is persisted for a
    later resume. ``offset`` is the number of bytes received so far.
    """

    def __init__(
        self,
        store: UploadStore,
        upload_id: str,
        started_at: datetime,
        writer: FileWriter,
        hasher: hashlib._Hash | None,
    ) -> None:
        self._store = store
        self.id = upload_id
        self.started_at = started_at
        self._writer = writer
        self._hasher = hasher
        self._finished = False

    @property
    def name(self) -> str:
        """The repository the upload belongs to."""
        return self._store.name

    @property
    def offset(self) -> int:
        """Bytes received so far."""
        return self._writer.size

    def _check_open(self, offset: int | None) -> None:
        if self._finished:
            raise BlobUploadInvalidError(f"upload {self.id!r} is already finished")
        if offset is not None and offset != self.offset:
            raise UploadOffsetError(self.id, self.offset, offset)

    def write(self, data: bytes | bytearray | memoryview, *, offset: int | None = None) -> int:
        """Append ``data``; with ``offset``, only if the upload is at that offset. New offset."""
        self._check_open(offset)
        try:
            self._writer.write(data)
        except BaseException as exc:
            self._hasher = None  # how much reached storage is unknown: re-hash at commit
            self._raise_if_gone(exc)
            raise
        if self._hasher is not None:
            self._hasher.update(data)
        return self.offset

    def write_from(
        self,
        stream: ByteSource,
        *,
        length: int | None = None,
        offset: int | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> int:
        """Append what ``stream`` yields (``length`` bytes if given), in bounded chunks.

        A stream that ends before ``length`` bytes keeps what arrived and raises
        :class:`BlobUploadInvalidError`; the client may resume from ``offset``.
        """
        self._check_open(offset)
        remaining = length
        while remaining is None or remaining > 0:
            want = chunk_size if remaining is None else min(chunk_size, remaining)
            chunk = stream.read(want)
            if not chunk:
                break
            self.write(chunk)
            if remaining is not None:
                remaining -= len(chunk)
        if remaining:
            raise BlobUploadInvalidError(
                f"upload {self.id!r}: the body ended {remaining} bytes short of {length}"
            )
        return self.offset

    def close(self) -> None:
        """Persist what was written so a later ``resume`` continues it. Idempotent."""
        if self._finished:
            return
        self._finished = True
        try:
            self._writer.close()
        except BaseException as exc:
            self._raise_if_gone(exc)
            raise
        if not self._store.exists(self.id):
            # Committed, cancelled or purged meanwhile, on a driver whose writer could not
            # tell: what this close stored at the upload's path is debris.
            self._store.remove(self.id, pending=True)
            raise BlobUploadUnknownError(self.id, self.name)
        if self._hasher is not None:
            self._store.live.keep(self.name, self.id, self._writer.size, self._hasher)

    def cancel(self) -> None:
        """Discard the upload: its data and its directory."""
        if not self._writer.closed:
            self._writer.cancel()
        self._finished = True
        self._store.live.take(self.name, self.id)
        self._store.remove(self.id)

    def commit(self, digest: Digest, *, size: int | None = None) -> BlobDescriptor:
        """Verify the data against ``digest`` (and ``size``), store it, link it here.

        A mismatch raises :class:`DigestMismatchError` or :class:`BlobSizeMismatchError`
        after removing the upload; nothing is linked or moved in that case.
        """
        self._check_open(None)
        self._finished = True
        try:
            self._writer.commit()
        except BaseException as exc:
            self._raise_if_gone(exc)
            raise
        staged = self._store.stage(self.id)
        if not self._store.exists(self.id):
            # Committed, cancelled or purged before this session's writer could tell.
            self._store.remove(self.id, pending=True)
            raise BlobUploadUnknownError(self.id, self.name)
        try:
            actual_size = self._store.driver.stat(staged).size
            if actual_size != self._writer.size:
                self._hasher = None  # another session's bytes are in it: hash what is there
            if size is not None and size != actual_size:
                raise BlobSizeMismatchError(size, actual_size)
            actual = self._digest(digest.algorithm, staged)
            if actual != digest:
                raise DigestMismatchError(digest, actual)
            descriptor = self._store.place(staged, digest, actual_size)
        except PathNotFoundError:
            # The staged data went with the upload: another session cancelled it meanwhile.
            raise BlobUploadUnknownError(self.id, self.name) from None
        finally:
            self._store.remove(self.id)
        return descriptor

    def _raise_if_gone(self, exc: BaseException) -> None:
        """Raise :class:`BlobUploadUnknownError` if ``exc`` (from the writer) is because the
        upload is gone: the writer's file was moved away or deleted, or the upload's
        ``startedat`` is. The session is then finished."""
        if isinstance(exc, RegistryError) or not isinstance(exc, StorageDriverError):
            return
        if isinstance(exc, PathNotFoundError) or not self._store.exists(self.id):
            self._finished = True  # nothing left to close
            raise BlobUploadUnknownError(self.id, self.name) from exc

    def _digest(self, algorithm: str, path: str) -> Digest:
        if self._hasher is not None and self._hasher.name == algorithm:
            return Digest.from_hash(self._hasher)
        hasher = hashlib.new(algorithm)
        with self._store.driver.reader(path) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                hasher.update(chunk)
        return Digest.from_hash(hasher)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class UploadStore:
    """A repository's uploads: create, resume by id, cancel."""

    def __init__(self, blobs: BlobStore, layers: LinkedBlobStore, live: LiveHashes) -> None:
        self.blobs = blobs
        self.layers = layers
        self.driver = blobs.driver
        self.name = layers.name
        self.live = live

    def create(self) -> UploadSession:
        """Start an upload: writes ``startedat`` and opens the data writer."""
        upload_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        self.driver.put_content(
            upload_started_at_path(self.name, upload_id), format_started_at(now).encode()
        )
        writer = self.driver.writer(upload_data_path(self.name, upload_id))
        return UploadSession(self, upload_id, now.replace(microsecond=0), writer, hashlib.sha256())

    def started_at(self, upload_id: str) -> datetime:
        """When the upload began; :class:`BlobUploadUnknownError` if there is no such upload."""
        check_upload_id(upload_id)
        try:
            text = self.driver.get_content(upload_started_at_path(self.name, upload_id))
        except PathNotFoundError:
            raise BlobUploadUnknownError(upload_id, self.name) from None
        try:
            return parse_started_at(text.decode("ascii", "replace"))
        except ValueError:
            raise BlobUploadInvalidError(
                f"upload {upload_id!r} has a malformed startedat"
            ) from None

    def exists(self, upload_id: str) -> bool:
        """Whether the upload is still there (its ``startedat`` is)."""
        try:
            self.driver.stat(upload_started_at_path(self.name, upload_id))
        except PathNotFoundError:
            return False
        return True

    def resume(self, upload_id: str) -> UploadSession:
        """Continue an upload, possibly started by another process."""
        started_at = self.started_at(upload_id)
        path = upload_data_path(self.name, upload_id)
        try:
            writer = self.driver.writer(path, append=True)
        except PathNotFoundError:
            if self._being_committed(upload_id):
                raise BlobUploadUnknownError(upload_id, self.name) from None
            writer = self.driver.writer(path)
        live = self.live.take(self.name, upload_id)
        hasher = live[1] if live is not None and live[0] == writer.size else None
        if hasher is None and writer.size == 0:
            hasher = hashlib.sha256()
        return UploadSession(self, upload_id, started_at, writer, hasher)

    def cancel(self, upload_id: str) -> None:
        """Discard an upload by id."""
        self.resume(upload_id).cancel()

    def _being_committed(self, upload_id: str) -> bool:
        """Whether a session has fenced the upload's data off to commit it."""
        try:
            children = self.driver.list(upload_dir(self.name, upload_id))
        except PathNotFoundError:
            return False
        return any(c.rpartition("/")[2].startswith(UPLOAD_COMMIT_PREFIX) for c in children)

    def remove(self, upload_id: str, *, pending: bool = False) -> None:
        """Delete the upload's directory (a missing one is fine); with ``pending``, abort
        the backend's unfinished uploads below it too (a late writer may have left one)."""
        path = upload_dir(self.name, upload_id)
        with contextlib.suppress(PathNotFoundError):
            self.driver.delete(path)
        if pending:
            self.driver.abort_pending_uploads(path, older_than=datetime.now(UTC))

    def stage(self, upload_id: str) -> str:
        """Move the upload's data to a name only this caller knows, and return that path.

        From then on no session's writer can change it (the driver contract). A missing
        data file means another session committed or cancelled the upload first.
        """
        staged = upload_commit_path(self.name, upload_id, secrets.token_hex(8))
        try:
            self.driver.move(upload_data_path(self.name, upload_id), staged)
        except PathNotFoundError:
            raise BlobUploadUnknownError(upload_id, self.name) from None
        return staged

    def place(self, staged: str, digest: Digest, size: int) -> BlobDescriptor:
        """Move verified, staged upload data to its blob path (unless stored already) and
        link it."""
        if not self.blobs.exists(digest):
            if size == 0:
                self.driver.put_content(blob_data_path(digest), b"")
            else:
                self.driver.move(staged, blob_data_path(digest))
        self.layers.link(digest)
        return BlobDescriptor(digest, size)

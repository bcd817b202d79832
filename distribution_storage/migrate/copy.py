"""Copying one object: verified streaming for blobs, server-side where the backend can.

A blob is read from the source and hashed as it streams into a target writer, which is
committed only when the digest (and size) match; on a mismatch the writer is cancelled and
nothing reaches the blob's final path. Backends whose writers publish only on ``commit``
(S3, GCS, Swift, OSS: multipart uploads and sessions) are written at the final path directly.
The others write in place (filesystem, Azure append blobs, in-memory), so there the blob is
written to a staging path under ``/docker/registry/v2/_migrate`` and moved into place after
it was verified: a crash never leaves a partial file where the registry would take it for a
complete blob.

Server-side copy: a target driver may offer ``copy_from(source_driver, source_path,
dest_path) -> bool``, copying from another driver of the same service inside the service
(True) or declining (False, e.g. another account). :func:`server_side_copier` finds it on the
drivers below any wrappers; the blob is still hashed from the source before it is copied.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.inventory import BlobRecord
from distribution_storage.layout import ROOT, Digest, blob_data_path
from distribution_storage.migrate.report import MigrationError

STAGING_ROOT = f"{ROOT}/_migrate"
"""Where blobs are staged on targets whose writers write in place; removed after a run."""
PUBLISH_ON_COMMIT = frozenset({"s3", "s3aws", "gcs", "swift", "oss"})
"""Drivers whose writers make nothing visible at the path before ``commit``."""
CHUNK_SIZE = 4 * 1024 * 1024


class VerificationError(MigrationError):
    """A source blob's content does not match its digest; it was not copied."""


class Interrupted(MigrationError):
    """The run is stopping (another transfer failed); this transfer was abandoned."""


@runtime_checkable
class CopiesFrom(Protocol):
    """A driver that can copy from another driver of the same service, server-side."""

    def copy_from(self, source: StorageDriver, source_path: str, dest_path: str) -> bool:
        """Copy ``source_path`` of ``source`` to ``dest_path`` inside the service; False
        when it cannot (another service or account), so the caller streams instead."""


def stages(target: StorageDriver) -> bool:
    """Whether blobs are staged on ``target`` (its writers write in place)."""
    return target.name not in PUBLISH_ON_COMMIT


def bottom(driver: StorageDriver) -> StorageDriver:
    """The driver below every wrapper and middleware."""
    return driver.unwrap() if isinstance(driver, DelegatingDriver) else driver


def server_side_copier(
    source: StorageDriver, target: StorageDriver
) -> Callable[[str, str], bool] | None:
    """A function copying a source path to a target path server-side, or None."""
    src, dst = bottom(source), bottom(target)
    if type(src) is not type(dst) or not isinstance(dst, CopiesFrom):
        return None
    return lambda source_path, dest_path: dst.copy_from(src, source_path, dest_path)


class BlobCopier:
    """Copies blobs from ``source`` to ``target``, verifying each against its digest."""

    def __init__(
        self,
        source: StorageDriver,
        target: StorageDriver,
        *,
        stop: threading.Event,
        on_bytes: Callable[[int], None],
        server_side: bool = True,
    ) -> None:
        self.source = source
        self.target = target
        self.stop = stop
        self.on_bytes = on_bytes
        self.staged = stages(target)
        self.server_side = server_side_copier(source, target) if server_side else None
        self.server_side_copies = 0
        self._lock = threading.Lock()

    def staging_path(self, digest: Digest) -> str:
        """A fresh staging path for ``digest``."""
        return f"{STAGING_ROOT}/{digest.algorithm}-{digest.hex}-{secrets.token_hex(6)}"

    def copy(self, record: BlobRecord) -> None:
        """Copy one blob, verified; raises :class:`VerificationError` on a mismatch."""
        final = blob_data_path(record.digest)
        dest = self.staging_path(record.digest) if self.staged else final
        if self.server_side is not None:
            self._hash_source(record)
            if self.server_side(final, dest):
                with self._lock:
                    self.server_side_copies += 1
                self._publish(dest, final)
                return
            self.server_side = None  # declined once: stream from now on
        self._stream(record, dest)
        self._publish(dest, final)

    def _publish(self, dest: str, final: str) -> None:
        if dest != final:
            self.target.move(dest, final)

    def _check(self, record: BlobRecord, hasher_digest: Digest, size: int) -> None:
        if hasher_digest != record.digest:
            raise VerificationError(
                f"blob {record.digest}: content hashes to {hasher_digest}; not copied"
            )
        if size != record.size:
            raise VerificationError(
                f"blob {record.digest}: read {size} bytes, listed as {record.size}; not copied"
            )

    def _hash_source(self, record: BlobRecord) -> None:
        hasher = record.digest.hasher()
        size = 0
        with self.source.reader(blob_data_path(record.digest)) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                if self.stop.is_set():
                    raise Interrupted("migration stopping")
                hasher.update(chunk)
                size += len(chunk)
        self._check(record, Digest.from_hash(hasher), size)
        self.on_bytes(size)

    def _stream(self, record: BlobRecord, dest: str) -> None:
        hasher = record.digest.hasher()
        size = 0
        with self.source.reader(blob_data_path(record.digest)) as stream:
            writer = self.target.writer(dest)
            try:
                while chunk := stream.read(CHUNK_SIZE):
                    if self.stop.is_set():
                        raise Interrupted("migration stopping")
                    hasher.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
                    self.on_bytes(len(chunk))
                self._check(record, Digest.from_hash(hasher), size)
                writer.commit()
            except BaseException:
                _cancel_quietly(writer)
                raise
            finally:
                writer.close()


def _cancel_quietly(writer: object) -> None:
    cancel = getattr(writer, "cancel", None)
    if cancel is None:
        return
    try:
        cancel()
    except Exception:  # the original error matters more; the staging area is swept later
        return


def remove_staging(target: StorageDriver) -> None:
    """Delete the staging area of earlier (interrupted) runs, if any; nothing to do (and no
    request) on a target where blobs are never staged."""
    if not stages(target):
        return
    try:
        target.delete(STAGING_ROOT)
    except PathNotFoundError:
        return

"""The ``oss`` driver: Alibaba Cloud Object Storage Service through oss2.

Objects are named ``rootdirectory`` + path without its leading slash. ``list`` is a prefix
and delimiter listing, ``stat`` a HEAD or a one-key listing for a directory, ``delete`` one
flat listing and batched ``POST ?delete`` requests of up to 1,000 keys, ``move``, ``copy`` and
``copy_from`` (another bucket of the same account, for migration) server-side (CopyObject up
to 1 GB, UploadPartCopy above), and ``redirect_url`` a signed URL
(``bucket.sign_url``). Writers are multipart uploads resumable from another process (see
:mod:`distribution_storage.drivers.oss_writer`); requests, error mapping and upload
bookkeeping live in :mod:`distribution_storage.drivers.oss_store`. OSS answers an
unsatisfiable range with 200 and the whole object; the reader treats that as end of file.
Requests are signed with signature v4 (``OSS4-HMAC-SHA256``).
"""

from __future__ import annotations

import builtins
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, Self

from distribution_storage.driver.contract import (
    Capability,
    FileInfo,
    FileWriter,
    StorageDriver,
    collect_subtrees,
)
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.paths import ROOT
from distribution_storage.driver.streams import ReadableStream
from distribution_storage.drivers.oss_parameters import OSSParameters, parse_parameters
from distribution_storage.drivers.oss_store import TAILS, OSSStore
from distribution_storage.drivers.oss_writer import OSSWriter, UploadState

REDIRECT_SECONDS = 20 * 60


class OSSDriver(StorageDriver):
    """Storage in an OSS bucket; see the module docstring."""

    name = "oss"
    capabilities = frozenset(
        {
            Capability.REDIRECT,
            Capability.BATCH_DELETE,
            Capability.SERVER_SIDE_COPY,
            Capability.PENDING_UPLOADS,
        }
    )
    copy_threshold = 1 << 30
    """CopyObject's limit (1 GB); larger objects are copied part by part."""
    copy_part_size = 64 << 20
    """The part size of those copies (``chunksize`` when that is larger)."""

    def __init__(self, params: OSSParameters) -> None:
        self.params = params
        self.store = OSSStore(params)
        self.bucket = self.store.bucket

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> Self:
        """Build the driver from ``storage.oss`` parameters; checks the bucket right away."""
        return cls(parse_parameters(parameters))

    @property
    def secrets(self) -> tuple[str, ...]:
        """The access key secret, scrubbed from errors."""
        return (self.params.accesskeysecret,)

    def _adopt(self, path: str) -> UploadState:
        """An upload that continues the committed object at ``path``."""
        size = self.stat(path).size
        chunk = self.params.chunksize
        if size < chunk:
            return UploadState(None, [], self.get_content(path) if size else b"", False)
        upload_id = self.store.start_upload(path)
        parts = self.store.copy_parts(self.store.key(path), path, upload_id, size, chunk)
        copied = sum(p.size for p in parts)
        tail = b""
        if copied < size:
            with self.store.errors("read", path):
                tail = self.bucket.get_object(
                    self.store.key(path), byte_range=(copied, None)
                ).read()
        return UploadState(upload_id, parts, tail, False)

    def get_content(self, path: str) -> bytes:
        """The whole object at ``path``."""
        with self.store.errors("get", path):
            return bytes(self.bucket.get_object(self.store.key(path)).read())

    def put_content(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path`` as one object."""
        self.store.put_object(path, bytes(data))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """A ranged GET from ``offset``; OSS's 200-with-everything past the end means EOF."""
        with self.store.errors("read", path):
            if offset == 0:
                result = self.bucket.get_object(self.store.key(path))
            else:
                result = self.bucket.get_object(self.store.key(path), byte_range=(offset, None))
                if result.status != 206:
                    result.close()
                    return io.BytesIO()
        return io.BufferedReader(ReadableStream(result), 256 * 1024)

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        """A multipart writer; with ``append``, resumes the open upload of ``path``."""
        state = self.store.resume_state(path)
        if append:
            return OSSWriter(self.store, path, state if state is not None else self._adopt(path))
        if state is not None:  # an abandoned upload of this path is replaced
            if state.upload_id is not None:
                self.store.abort_upload(path, state.upload_id)
            if state.tail_stored:
                self.store.delete_tail(path)
        return OSSWriter(self.store, path, UploadState(None, [], b"", False))

    def stat(self, path: str) -> FileInfo:
        """HEAD the object, else a one-key listing below it to detect a directory."""
        key = self.store.key(path)
        if path != ROOT:
            head = self.store.head(key, path)
            if head is not None:
                mod_time = datetime.fromtimestamp(head.last_modified, UTC)
                return FileInfo(path, int(head.content_length), mod_time, False)
        prefix = key + "/" if path != ROOT else self.store.prefix
        for entry in self.store.listing(prefix, limit=2):
            if path == ROOT and isinstance(entry, str):
                continue
            if path == ROOT and entry.key.startswith(self.store.prefix + TAILS):
                continue
            return FileInfo(path, 0, datetime.fromtimestamp(entry.last_modified, UTC), True)
        if path == ROOT:
            return FileInfo(path, 0, datetime.now(UTC), True)
        raise PathNotFoundError(path)

    def list_infos(self, path: str) -> builtins.list[FileInfo]:
        """Direct children with sizes and times, from one delimiter listing."""
        prefix = self.store.key(path) + "/" if path != ROOT else self.store.prefix
        children: dict[str, FileInfo] = {}
        now = datetime.now(UTC)
        for entry in self.store.listing(prefix, "/"):
            name = entry if isinstance(entry, str) else entry.key
            if name[len(prefix) :].startswith("~"):
                continue  # the tails area
            child = self.store.path_of(name)
            if isinstance(entry, str):
                children[child] = FileInfo(child, 0, now, True)
            else:
                mod_time = datetime.fromtimestamp(entry.last_modified, UTC)
                children.setdefault(child, FileInfo(child, int(entry.size), mod_time, False))
        if not children and path != ROOT:
            raise PathNotFoundError(path)
        return list(children.values())

    def list(self, path: str) -> builtins.list[str]:
        """The direct children of ``path``: a prefix and delimiter listing."""
        return sorted(info.path for info in self.list_infos(path))

    def _server_copy(self, source: OSSStore, path: str, dest: str) -> None:
        """Copy ``path`` of ``source``'s bucket (of the same account) to ``dest``."""
        src_key = source.key(path)
        head = source.head(src_key, path)
        if head is None:
            raise PathNotFoundError(path)
        size = int(head.content_length)
        if size <= self.copy_threshold:
            with self.store.errors("copy", path):
                self.bucket.copy_object(
                    source.params.bucket, src_key, self.store.key(dest), headers=self.store.headers
                )
            return
        upload_id = self.store.start_upload(dest)
        try:
            chunk = max(self.params.chunksize, self.copy_part_size)
            parts = self.store.copy_parts(
                src_key,
                dest,
                upload_id,
                size,
                chunk,
                source_bucket=source.params.bucket,
                whole=True,
            )
            self.store.complete_upload(dest, upload_id, parts)
        except BaseException:
            self.store.abort_upload(dest, upload_id)
            raise

    def move(self, source: str, dest: str) -> None:
        """Server-side copy, then delete the source."""
        if source == dest:
            self.stat(source)
            return
        self._server_copy(self.store, source, dest)
        with self.store.errors("delete", source):
            self.bucket.delete_object(self.store.key(source))

    def copy(self, source: str, dest: str) -> None:
        """Server-side copy (UploadPartCopy above 1 GB)."""
        if source != dest:
            self._server_copy(self.store, source, dest)

    def copy_from(self, source: StorageDriver, source_path: str, dest_path: str) -> bool:
        """Copy from another OSS driver of the same endpoint and account, from its bucket,
        inside OSS (CopyObject, or UploadPartCopy above 1 GB, as ``copy`` does).

        Used by migration between buckets (or root directories); False, so the caller
        streams, when ``source`` is another service, endpoint or account.
        """
        if not isinstance(source, OSSDriver) or not self.store.same_account(source.store):
            return False
        self._server_copy(source.store, source_path, dest_path)
        return True

    def _keys_of(self, path: str) -> builtins.list[str]:
        key = self.store.key(path)
        keys = [entry.key for entry in self.store.listing(key + "/")]
        if self.store.head(key, path) is not None:
            keys.append(key)
        return keys

    def delete(self, path: str) -> None:
        """Delete ``path`` and everything below, with the pending uploads there."""
        keys = self._keys_of(path)
        if not keys:
            raise PathNotFoundError(path)
        self.store.delete_keys(keys)
        self._abort(path, None)

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete many paths in batches of 1,000 keys; returns the missing ones."""
        keys, missing = collect_subtrees(paths, self._keys_of)
        self.store.delete_keys(keys)
        return missing

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete exactly these keys, 1,000 per request, listing nothing.

        OSS does not tell which keys were missing, so nothing is reported missing.
        """
        self.store.delete_keys(list(dict.fromkeys(self.store.key(path) for path in paths)))
        return []

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        """A signed URL valid for 20 minutes."""
        with self.store.errors("sign", path):
            return str(self.bucket.sign_url(method.upper(), self.store.key(path), REDIRECT_SECONDS))

    def _abort(self, path: str, older_than: datetime | None) -> int:
        key, tail_key = self.store.key(path), self.store.tail_key(path)
        under = path == ROOT
        aborted: set[str] = set()
        for upload in self.store.open_uploads(key):
            if not (under or upload.key == key or upload.key.startswith(key + "/")):
                continue
            if older_than is not None and upload.initiation_date >= older_than.timestamp():
                continue
            self.store.abort_upload(self.store.path_of(upload.key), upload.upload_id)
            aborted.add(self.store.path_of(upload.key))
        stale = [
            entry.key
            for entry in self.store.listing(tail_key)
            if (under or entry.key == tail_key or entry.key.startswith(tail_key + "/"))
            and (older_than is None or entry.last_modified < older_than.timestamp())
        ]
        if stale:
            self.store.delete_keys(stale)
        skip = len(self.store.prefix) + len(TAILS)
        aborted.update(k[skip:] for k in stale)
        return len(aborted)

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        """Abort multipart uploads and drop tails below ``path`` older than ``older_than``."""
        return self._abort(path, older_than)

    def __repr__(self) -> str:
        return f"OSSDriver(bucket={self.params.bucket!r}, endpoint={self.params.endpoint_url!r})"

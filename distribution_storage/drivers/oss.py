"""The ``oss`` driver: Alibaba Cloud Object Storage Service through oss2.

Objects are named ``rootdirectory`` + path without its leading slash. ``list`` is a prefix
and delimiter listing, ``stat`` a HEAD or a one-key listing for a directory, ``delete`` one
flat listing and batched ``POST ?delete`` requests of up to 1,000 keys, ``move`` and ``copy``
server-side (CopyObject up to 1 GB, UploadPartCopy above), and ``redirect_url`` a signed URL
(``bucket.sign_url``). Writers are multipart uploads resumable from another process (see
:mod:`distribution_storage.drivers.oss_writer`). OSS answers an unsatisfiable range with 200
and the whole object; the reader treats that as end of file. Requests are signed with
signature v4 (``OSS4-HMAC-SHA256``).
"""

from __future__ import annotations

import builtins
import contextlib
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, Self

import oss2
from oss2 import exceptions as oss_errors
from oss2.models import PartInfo

from distribution_storage.driver.contract import (
    Capability,
    FileInfo,
    FileWriter,
    StorageDriver,
    WalkPrune,
)
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.driver.paths import ROOT
from distribution_storage.drivers.listing_walk import walk_by_listing
from distribution_storage.drivers.oss_parameters import (
    OSSParameters,
    encryption_headers,
    parse_parameters,
)
from distribution_storage.drivers.oss_writer import MIN_PART_SIZE, OSSWriter, Part, UploadState

REDIRECT_SECONDS = 20 * 60
BATCH_DELETE_LIMIT = 1000
TAILS = "~tails"


class _ResultStream(io.RawIOBase):
    """A raw binary stream over an oss2 GetObjectResult."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._result.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._result.close()
        super().close()


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

    def __init__(self, params: OSSParameters) -> None:
        self.params = params
        self._prefix = params.key_prefix
        self._headers = encryption_headers(params)
        auth = oss2.AuthV4(params.accesskeyid, params.accesskeysecret)
        self.bucket = oss2.Bucket(
            auth, params.endpoint_url, params.bucket, region=params.signing_region
        )
        with self._errors("open bucket", params.bucket):
            self.bucket.list_objects_v2(max_keys=1)

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> Self:
        """Build the driver from ``storage.oss`` parameters; checks the bucket right away."""
        return cls(parse_parameters(parameters))

    @property
    def secrets(self) -> tuple[str, ...]:
        """The access key secret, scrubbed from errors."""
        return (self.params.accesskeysecret,)

    @contextlib.contextmanager
    def _errors(self, operation: str, path: str) -> Iterator[None]:
        try:
            yield
        except oss_errors.NoSuchKey:
            raise PathNotFoundError(path) from None
        except oss_errors.NoSuchBucket:
            raise StorageDriverError(f"bucket {self.params.bucket!r} does not exist") from None
        except oss_errors.RequestError as exc:
            raise StorageDriverError(
                f"{operation} {path}: cannot reach {self.params.endpoint_url}: {exc.body!s:.200}"
            ) from None
        except oss_errors.OssError as exc:
            detail = exc.code or exc.status
            message = exc.message if hasattr(exc, "message") else ""
            raise StorageDriverError(f"{operation} {path}: {detail} {message}".strip()) from None

    # -- names ----------------------------------------------------------------------------

    def key(self, path: str) -> str:
        """The object name of ``path`` (the root directory's prefix for ``/``)."""
        return self._prefix + ("" if path == ROOT else path[1:])

    def _path_of(self, key: str) -> str:
        return "/" + key[len(self._prefix) :].rstrip("/")

    def _tail_key(self, path: str) -> str:
        return f"{self._prefix}{TAILS}" + ("" if path == ROOT else path)

    # -- operations used by the writer ----------------------------------------------------

    def start_upload(self, path: str) -> str:
        """Initiate a multipart upload for ``path``; returns its id."""
        with self._errors("start upload", path):
            result = self.bucket.init_multipart_upload(self.key(path), headers=self._headers)
        return str(result.upload_id)

    def upload_part(self, path: str, upload_id: str, number: int, data: bytes) -> str:
        """Upload one part; returns its ETag."""
        with self._errors("upload part", path):
            result = self.bucket.upload_part(self.key(path), upload_id, number, data)
        return str(result.etag)

    def complete_upload(self, path: str, upload_id: str, parts: list[Part]) -> None:
        """Complete the upload, making ``path`` visible."""
        infos = [PartInfo(p.number, p.etag, size=p.size) for p in parts]
        with self._errors("complete upload", path):
            self.bucket.complete_multipart_upload(self.key(path), upload_id, infos)

    def abort_upload(self, path: str, upload_id: str) -> None:
        """Abort an upload (already gone is fine)."""
        with contextlib.suppress(oss_errors.NoSuchUpload), self._errors("abort", path):
            self.bucket.abort_multipart_upload(self.key(path), upload_id)

    def put_tail(self, path: str, data: bytes, upload_id: str | None, parts: list[Part]) -> None:
        """Store the unuploaded tail of a closed writer, naming its upload and part bytes."""
        headers = {
            **self._headers,
            "x-oss-meta-upload-id": upload_id or "",
            "x-oss-meta-parts-size": str(sum(p.size for p in parts)),
        }
        with self._errors("put tail", path):
            self.bucket.put_object(self._tail_key(path), data, headers=headers)

    def delete_tail(self, path: str) -> None:
        """Remove the tail object of ``path``."""
        with self._errors("delete tail", path):
            self.bucket.delete_object(self._tail_key(path))

    def _open_uploads(self, key_prefix: str) -> Iterator[Any]:
        marker, id_marker = "", ""
        while True:
            with self._errors("list uploads", key_prefix):
                result = self.bucket.list_multipart_uploads(
                    prefix=key_prefix, key_marker=marker, upload_id_marker=id_marker
                )
            yield from result.upload_list
            if not result.is_truncated:
                return
            marker, id_marker = result.next_key_marker, result.next_upload_id_marker

    def _parts(self, path: str, upload_id: str) -> list[Part]:
        parts: list[Part] = []
        marker = ""
        while True:
            with self._errors("list parts", path):
                result = self.bucket.list_parts(self.key(path), upload_id, marker=marker)
            parts.extend(Part(p.part_number, p.etag, p.size) for p in result.parts)
            if not result.is_truncated:
                return parts
            marker = result.next_marker

    def _read_tail(self, path: str) -> tuple[bytes, str, int] | None:
        """The tail object of ``path``: bytes, the upload it belongs to, bytes in parts."""
        try:
            with self._errors("read tail", path):
                result = self.bucket.get_object(self._tail_key(path))
                data = bytes(result.read())
        except PathNotFoundError:
            return None
        headers = result.headers
        return (
            data,
            headers.get("x-oss-meta-upload-id", ""),
            int(headers.get("x-oss-meta-parts-size", "0")),
        )

    def _resume_state(self, path: str) -> UploadState | None:
        key = self.key(path)
        uploads = {u.upload_id: u for u in self._open_uploads(key) if u.key == key}
        tail = self._read_tail(path)
        if tail is None and not uploads:
            return None
        chosen: Any = None
        if tail is not None and tail[1]:
            chosen = uploads.get(tail[1])
            if chosen is None:
                raise StorageDriverError(
                    f"cannot resume {path}: its multipart upload {tail[1]} is gone"
                )
        elif tail is None:
            chosen = max(uploads.values(), key=lambda u: u.initiation_date)
        for stale in uploads.values():
            if stale is not chosen:
                self.abort_upload(path, stale.upload_id)
        parts = self._parts(path, chosen.upload_id) if chosen is not None else []
        if tail is not None and sum(p.size for p in parts) != tail[2]:
            raise StorageDriverError(
                f"cannot resume {path}: its upload holds {sum(p.size for p in parts)} bytes "
                f"in parts where {tail[2]} were written"
            )
        upload_id = chosen.upload_id if chosen is not None else None
        data = tail[0] if tail is not None else b""
        return UploadState(upload_id, parts, data, tail_stored=tail is not None)

    def _adopt(self, path: str) -> UploadState:
        """An upload that continues the committed object at ``path``."""
        size = self.stat(path).size
        chunk = self.params.chunksize
        if size < chunk:
            return UploadState(None, [], self.get_content(path) if size else b"", False)
        upload_id = self.start_upload(path)
        parts = self._copy_parts(self.key(path), path, upload_id, size, chunk)
        copied = sum(p.size for p in parts)
        tail = b""
        if copied < size:
            with self._errors("read", path):
                tail = self.bucket.get_object(self.key(path), byte_range=(copied, None)).read()
        return UploadState(upload_id, parts, tail, False)

    def _copy_parts(
        self, source_key: str, path: str, upload_id: str, size: int, chunk: int
    ) -> builtins.list[Part]:
        """UploadPartCopy ranges of ``chunk`` bytes; a remainder under 100 KiB is left out."""
        parts: list[Part] = []
        start = 0
        while size - start >= MIN_PART_SIZE:
            end = min(start + chunk, size) - 1
            with self._errors("copy part", path):
                result = self.bucket.upload_part_copy(
                    self.params.bucket,
                    source_key,
                    (start, end),
                    self.key(path),
                    upload_id,
                    len(parts) + 1,
                )
            parts.append(Part(len(parts) + 1, str(result.etag), end - start + 1))
            start = end + 1
        return parts

    # -- the verbs ------------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        """The whole object at ``path``."""
        with self._errors("get", path):
            return bytes(self.bucket.get_object(self.key(path)).read())

    def put_content(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path`` as one object."""
        with self._errors("put", path):
            self.bucket.put_object(self.key(path), bytes(data), headers=self._headers)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """A ranged GET from ``offset``; OSS's 200-with-everything past the end means EOF."""
        with self._errors("read", path):
            if offset == 0:
                result = self.bucket.get_object(self.key(path))
            else:
                result = self.bucket.get_object(self.key(path), byte_range=(offset, None))
                if result.status != 206:
                    result.close()
                    return io.BytesIO()
        return io.BufferedReader(_ResultStream(result), 256 * 1024)

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        """A multipart writer; with ``append``, resumes the open upload of ``path``."""
        state = self._resume_state(path)
        if append:
            return OSSWriter(self, path, state if state is not None else self._adopt(path))
        if state is not None:  # an abandoned upload of this path is replaced
            if state.upload_id is not None:
                self.abort_upload(path, state.upload_id)
            if state.tail_stored:
                self.delete_tail(path)
        return OSSWriter(self, path, UploadState(None, [], b"", False))

    def _head(self, key: str, path: str) -> Any:
        with self._errors("stat", path):
            try:
                return self.bucket.head_object(key)
            except oss_errors.NotFound:  # a HEAD's 404 has no body to name the code
                return None

    def _list(self, prefix: str, delimiter: str = "", limit: int = 1000) -> Iterator[Any]:
        """Listing entries (objects, and common prefixes as strings), every page."""
        token = ""
        while True:
            with self._errors("list", prefix):
                result = self.bucket.list_objects_v2(
                    prefix=prefix, delimiter=delimiter, continuation_token=token, max_keys=limit
                )
            yield from result.object_list
            yield from result.prefix_list
            if not result.is_truncated or limit < 1000:
                return
            token = result.next_continuation_token

    def stat(self, path: str) -> FileInfo:
        """HEAD the object, else a one-key listing below it to detect a directory."""
        key = self.key(path)
        if path != ROOT:
            head = self._head(key, path)
            if head is not None:
                mod_time = datetime.fromtimestamp(head.last_modified, UTC)
                return FileInfo(path, int(head.content_length), mod_time, False)
        prefix = key + "/" if path != ROOT else self._prefix
        for entry in self._list(prefix, limit=2):
            if path == ROOT and isinstance(entry, str):
                continue
            if path == ROOT and entry.key.startswith(self._prefix + TAILS):
                continue
            return FileInfo(path, 0, datetime.fromtimestamp(entry.last_modified, UTC), True)
        if path == ROOT:
            return FileInfo(path, 0, datetime.now(UTC), True)
        raise PathNotFoundError(path)

    def _children(self, path: str) -> builtins.list[FileInfo]:
        """Direct children with sizes and times, from one delimiter listing."""
        prefix = self.key(path) + "/" if path != ROOT else self._prefix
        children: dict[str, FileInfo] = {}
        now = datetime.now(UTC)
        for entry in self._list(prefix, "/"):
            name = entry if isinstance(entry, str) else entry.key
            if name[len(prefix) :].startswith("~"):
                continue  # the tails area
            child = self._path_of(name)
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
        return sorted(info.path for info in self._children(path))

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
    ) -> Iterator[FileInfo]:
        """The contract's walk, with one delimiter listing per directory and no stats."""
        return walk_by_listing(self._children, path, start_after=start_after, prune=prune)

    def _server_copy(self, source: str, dest: str) -> None:
        src_key, dst_key = self.key(source), self.key(dest)
        head = self._head(src_key, source)
        if head is None:
            raise PathNotFoundError(source)
        size = int(head.content_length)
        if size <= self.copy_threshold:
            with self._errors("copy", source):
                self.bucket.copy_object(self.params.bucket, src_key, dst_key, headers=self._headers)
            return
        upload_id = self.start_upload(dest)
        try:
            chunk = max(self.params.chunksize, 64 << 20)
            parts = self._copy_parts(src_key, dest, upload_id, size, chunk)
            copied = sum(p.size for p in parts)
            if copied < size:  # a remainder under 100 KiB: one more (last) part
                with self._errors("copy part", dest):
                    result = self.bucket.upload_part_copy(
                        self.params.bucket,
                        src_key,
                        (copied, size - 1),
                        dst_key,
                        upload_id,
                        len(parts) + 1,
                    )
                parts.append(Part(len(parts) + 1, str(result.etag), size - copied))
            self.complete_upload(dest, upload_id, parts)
        except BaseException:
            self.abort_upload(dest, upload_id)
            raise

    def move(self, source: str, dest: str) -> None:
        """Server-side copy, then delete the source."""
        if source == dest:
            self.stat(source)
            return
        self._server_copy(source, dest)
        with self._errors("delete", source):
            self.bucket.delete_object(self.key(source))

    def copy(self, source: str, dest: str) -> None:
        """Server-side copy (UploadPartCopy above 1 GB)."""
        if source != dest:
            self._server_copy(source, dest)

    def _keys_of(self, path: str) -> builtins.list[str]:
        key = self.key(path)
        keys = [entry.key for entry in self._list(key + "/")]
        if self._head(key, path) is not None:
            keys.append(key)
        return keys

    def _delete_keys(self, keys: builtins.list[str]) -> None:
        for start in range(0, len(keys), BATCH_DELETE_LIMIT):
            with self._errors("delete", keys[start]):
                self.bucket.batch_delete_objects(keys[start : start + BATCH_DELETE_LIMIT])

    def delete(self, path: str) -> None:
        """Delete ``path`` and everything below, with the pending uploads there."""
        keys = self._keys_of(path)
        if not keys:
            raise PathNotFoundError(path)
        self._delete_keys(keys)
        self._abort(path, None)

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete many paths in batches of 1,000 keys; returns the missing ones."""
        missing: list[str] = []
        keys: list[str] = []
        for path in paths:
            found = self._keys_of(path)
            if not found:
                missing.append(path)
            keys.extend(found)
        self._delete_keys(keys)
        return missing

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        """A signed URL valid for 20 minutes."""
        with self._errors("sign", path):
            return str(self.bucket.sign_url(method.upper(), self.key(path), REDIRECT_SECONDS))

    def _abort(self, path: str, older_than: datetime | None) -> int:
        key, tail_key = self.key(path), self._tail_key(path)
        under = path == ROOT
        aborted: set[str] = set()
        for upload in self._open_uploads(key):
            if not (under or upload.key == key or upload.key.startswith(key + "/")):
                continue
            if older_than is not None and upload.initiation_date >= older_than.timestamp():
                continue
            self.abort_upload(self._path_of(upload.key), upload.upload_id)
            aborted.add(self._path_of(upload.key))
        stale = [
            entry.key
            for entry in self._list(tail_key)
            if (under or entry.key == tail_key or entry.key.startswith(tail_key + "/"))
            and (older_than is None or entry.last_modified < older_than.timestamp())
        ]
        if stale:
            self._delete_keys(stale)
        skip = len(self._prefix) + len(TAILS)
        aborted.update(k[skip:] for k in stale)
        return len(aborted)

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        """Abort multipart uploads and drop tails below ``path`` older than ``older_than``."""
        return self._abort(path, older_than)

    def __repr__(self) -> str:
        return f"OSSDriver(bucket={self.params.bucket!r}, endpoint={self.params.endpoint_url!r})"

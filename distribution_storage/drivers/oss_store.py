"""The bucket-level half of the ``oss`` driver: requests, error mapping, uploads and tails.

:class:`OSSStore` owns the oss2 ``Bucket`` (signature v4), turns oss2's exceptions into the
driver's typed errors (a missing key is :class:`PathNotFoundError`, a missing bucket or a
refused signature a clear :class:`StorageDriverError`), names objects (``rootdirectory`` +
path, tails under ``<rootdirectory>~tails``), and does what the driver and its writer build
on: paginated listings, batched deletes, multipart uploads and their parts, tail objects, and
the state a resumed writer starts from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import oss2
from oss2 import exceptions as oss_errors
from oss2.models import PartInfo

from distribution_storage.driver.accounts import same_account
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.driver.paths import ROOT
from distribution_storage.drivers.oss_parameters import OSSParameters, encryption_headers
from distribution_storage.drivers.oss_writer import MIN_PART_SIZE, Part, UploadState

BATCH_DELETE_LIMIT = 1000
TAILS = "~tails"
ACCOUNT_PARAMETERS = ("endpoint_url", "accesskeyid", "accesskeysecret")
"""The parameters that make two stores one account of one OSS endpoint."""


class OSSStore:
    """One OSS bucket as the driver uses it; checks the bucket and credentials on creation."""

    def __init__(self, params: OSSParameters) -> None:
        self.params = params
        self.prefix = params.key_prefix
        self.headers = encryption_headers(params)
        auth = oss2.AuthV4(params.accesskeyid, params.accesskeysecret)
        self.bucket = oss2.Bucket(
            auth, params.endpoint_url, params.bucket, region=params.signing_region
        )
        with self.errors("open bucket", params.bucket):
            self.bucket.list_objects_v2(max_keys=1)

    @contextlib.contextmanager
    def errors(self, operation: str, path: str) -> Iterator[None]:
        """Translate oss2's exceptions raised inside the block into the driver's errors."""
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

    def same_account(self, other: OSSStore) -> bool:
        """Whether ``other`` reaches the same endpoint with the same access key, so this
        store may copy from ``other``'s bucket."""
        return same_account(self.params, other.params, ACCOUNT_PARAMETERS)

    # -- names ----------------------------------------------------------------------------

    def key(self, path: str) -> str:
        """The object name of ``path`` (the root directory's prefix for ``/``)."""
        return self.prefix + ("" if path == ROOT else path[1:])

    def path_of(self, key: str) -> str:
        """The path of an object name."""
        return "/" + key[len(self.prefix) :].rstrip("/")

    def tail_key(self, path: str) -> str:
        """The object name of the tail of ``path``'s upload."""
        return f"{self.prefix}{TAILS}" + ("" if path == ROOT else path)

    # -- operations used by the writer ----------------------------------------------------

    def start_upload(self, path: str) -> str:
        """Initiate a multipart upload for ``path``; returns its id."""
        with self.errors("start upload", path):
            result = self.bucket.init_multipart_upload(self.key(path), headers=self.headers)
        return str(result.upload_id)

    def upload_part(self, path: str, upload_id: str, number: int, data: bytes) -> str:
        """Upload one part; returns its ETag."""
        with self.errors("upload part", path):
            result = self.bucket.upload_part(self.key(path), upload_id, number, data)
        return str(result.etag)

    def complete_upload(self, path: str, upload_id: str, parts: list[Part]) -> None:
        """Complete the upload, making ``path`` visible."""
        infos = [PartInfo(p.number, p.etag, size=p.size) for p in parts]
        with self.errors("complete upload", path):
            self.bucket.complete_multipart_upload(self.key(path), upload_id, infos)

    def abort_upload(self, path: str, upload_id: str) -> None:
        """Abort an upload (already gone is fine)."""
        with contextlib.suppress(oss_errors.NoSuchUpload), self.errors("abort", path):
            self.bucket.abort_multipart_upload(self.key(path), upload_id)

    def put_tail(self, path: str, data: bytes, upload_id: str | None, parts: list[Part]) -> None:
        """Store the unuploaded tail of a closed writer, naming its upload and part bytes."""
        headers = {
            **self.headers,
            "x-oss-meta-upload-id": upload_id or "",
            "x-oss-meta-parts-size": str(sum(p.size for p in parts)),
        }
        with self.errors("put tail", path):
            self.bucket.put_object(self.tail_key(path), data, headers=headers)

    def delete_tail(self, path: str) -> None:
        """Remove the tail object of ``path``."""
        with self.errors("delete tail", path):
            self.bucket.delete_object(self.tail_key(path))

    def open_uploads(self, key_prefix: str) -> Iterator[Any]:
        """Every open multipart upload whose key starts with ``key_prefix`` (all pages)."""
        marker, id_marker = "", ""
        while True:
            with self.errors("list uploads", key_prefix):
                result = self.bucket.list_multipart_uploads(
                    prefix=key_prefix, key_marker=marker, upload_id_marker=id_marker
                )
            yield from result.upload_list
            if not result.is_truncated:
                return
            marker, id_marker = result.next_key_marker, result.next_upload_id_marker

    def parts(self, path: str, upload_id: str) -> list[Part]:
        """The uploaded parts of an upload (all pages)."""
        parts: list[Part] = []
        marker = ""
        while True:
            with self.errors("list parts", path):
                result = self.bucket.list_parts(self.key(path), upload_id, marker=marker)
            parts.extend(Part(p.part_number, p.etag, p.size) for p in result.parts)
            if not result.is_truncated:
                return parts
            marker = result.next_marker

    def read_tail(self, path: str) -> tuple[bytes, str, int] | None:
        """The tail object of ``path``: bytes, the upload it belongs to, bytes in parts."""
        try:
            with self.errors("read tail", path):
                result = self.bucket.get_object(self.tail_key(path))
                data = bytes(result.read())
        except PathNotFoundError:
            return None
        headers = result.headers
        return (
            data,
            headers.get("x-oss-meta-upload-id", ""),
            int(headers.get("x-oss-meta-parts-size", "0")),
        )

    def resume_state(self, path: str) -> UploadState | None:
        """Where a resumed writer of ``path`` starts, or None when nothing is pending."""
        key = self.key(path)
        uploads = {u.upload_id: u for u in self.open_uploads(key) if u.key == key}
        tail = self.read_tail(path)
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
        parts = self.parts(path, chosen.upload_id) if chosen is not None else []
        if tail is not None and sum(p.size for p in parts) != tail[2]:
            raise StorageDriverError(
                f"cannot resume {path}: its upload holds {sum(p.size for p in parts)} bytes "
                f"in parts where {tail[2]} were written"
            )
        upload_id = chosen.upload_id if chosen is not None else None
        data = tail[0] if tail is not None else b""
        return UploadState(upload_id, parts, data, tail_stored=tail is not None)

    def copy_parts(
        self,
        source_key: str,
        path: str,
        upload_id: str,
        size: int,
        chunk: int,
        *,
        source_bucket: str | None = None,
        whole: bool = False,
    ) -> list[Part]:
        """UploadPartCopy ranges of ``chunk`` bytes of ``source_key`` (in ``source_bucket``,
        by default this bucket). A remainder under 100 KiB is left out (a resumed writer
        keeps it as its tail) unless ``whole``: then it is one more (last) part."""
        parts: list[Part] = []
        start = 0
        while start < size and (whole or size - start >= MIN_PART_SIZE):
            end = min(start + chunk, size) - 1
            with self.errors("copy part", path):
                result = self.bucket.upload_part_copy(
                    source_bucket or self.params.bucket,
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
    def head(self, key: str, path: str) -> Any:
        """HeadObject of ``key``, or None when it is missing."""
        with self.errors("stat", path):
            try:
                return self.bucket.head_object(key)
            except oss_errors.NotFound:  # a HEAD's 404 has no body to name the code
                return None

    def listing(self, prefix: str, delimiter: str = "", limit: int = 1000) -> Iterator[Any]:
        """Listing entries (objects, and common prefixes as strings), every page."""
        token = ""
        while True:
            with self.errors("list", prefix):
                result = self.bucket.list_objects_v2(
                    prefix=prefix, delimiter=delimiter, continuation_token=token, max_keys=limit
                )
            yield from result.object_list
            yield from result.prefix_list
            if not result.is_truncated or limit < 1000:
                return
            token = result.next_continuation_token

    def delete_keys(self, keys: list[str]) -> None:
        """Delete objects in batches of 1,000 (missing ones are fine)."""
        for start in range(0, len(keys), BATCH_DELETE_LIMIT):
            with self.errors("delete", keys[start]):
                self.bucket.batch_delete_objects(keys[start : start + BATCH_DELETE_LIMIT])

    def put_object(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path`` as one object."""
        with self.errors("put", path):
            self.bucket.put_object(self.key(path), data, headers=self.headers)

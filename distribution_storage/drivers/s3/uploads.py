"""Multipart uploads of the ``s3`` driver: finding, listing, copying into and aborting them.

:class:`MultipartUploads` is the bookkeeping the writer, ``copy``/``move`` and
``abort_pending_uploads`` share: the pending uploads under a prefix (ListMultipartUploads,
paginated by key and upload-id markers), the parts of one upload (ListParts, paginated by
part-number marker), creation, completion and abort, and server-side part copies
(UploadPartCopy, in parallel). Every call maps botocore's failures onto the contract's
errors with the operation and path of the verb that asked.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from distribution_storage.driver.errors import UnsupportedMethodError
from distribution_storage.drivers.s3.client import S3ErrorContext, error_code, s3_errors
from distribution_storage.drivers.s3.parameters import MAX_CHUNK_SIZE, S3Settings

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_COPY_THREADS = 32


@dataclass(frozen=True, slots=True)
class Part:
    """One uploaded part of a multipart upload; ``crc32`` is its base64 CRC32 checksum when
    the upload declared one (CompleteMultipartUpload must repeat it)."""

    number: int
    etag: str
    size: int
    crc32: str | None = None


def _completed(part: Part) -> dict[str, Any]:
    """A part as CompleteMultipartUpload lists it."""
    entry: dict[str, Any] = {"PartNumber": part.number, "ETag": part.etag}
    if part.crc32 is not None:
        entry["ChecksumCRC32"] = part.crc32
    return entry


class MultipartUploads:
    """The multipart-upload requests of one bucket."""

    def __init__(self, client: Any, settings: S3Settings, errors: S3ErrorContext) -> None:
        self.client = client
        self.settings = settings
        self.bucket = settings.bucket
        self.errors = errors

    def pending(self, prefix: str, path: str) -> Iterator[dict[str, Any]]:
        """Every pending upload whose key starts with ``prefix`` (ListMultipartUploads)."""
        request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            with s3_errors(self.errors, "list uploads", path):
                page = self.client.list_multipart_uploads(**request)
            yield from page.get("Uploads", ())
            if not page.get("IsTruncated"):
                return
            request["KeyMarker"] = page.get("NextKeyMarker", "")
            request["UploadIdMarker"] = page.get("NextUploadIdMarker", "")

    def find(self, key: str, path: str) -> dict[str, Any] | None:
        """The newest pending upload for exactly ``key`` as ListMultipartUploads describes
        it (``UploadId``, ``ChecksumAlgorithm``...), if any."""
        found: tuple[datetime, int, dict[str, Any]] | None = None
        for index, upload in enumerate(self.pending(key, path)):
            if upload["Key"] != key:
                continue
            candidate = (upload.get("Initiated", EPOCH), index, upload)
            if found is None or candidate[:2] >= found[:2]:
                found = candidate
        return found[2] if found else None

    def _part_pages(self, key: str, upload_id: str, path: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
        while True:
            with s3_errors(self.errors, "list parts", path):
                page = self.client.list_parts(**request)
            yield from page.get("Parts", ())
            if not page.get("IsTruncated"):
                return
            request["PartNumberMarker"] = page["NextPartNumberMarker"]

    def parts(self, key: str, upload_id: str, path: str) -> list[Part]:
        """The parts of upload ``upload_id``, by part number (ListParts)."""
        parts = [
            Part(int(p["PartNumber"]), p["ETag"], int(p["Size"]), p.get("ChecksumCRC32"))
            for p in self._part_pages(key, upload_id, path)
        ]
        return sorted(parts, key=lambda part: part.number)

    def last_activity(self, upload: dict[str, Any], path: str) -> datetime:
        """The later of an upload's initiation and its newest part."""
        latest: datetime = upload.get("Initiated", EPOCH)
        for part in self._part_pages(upload["Key"], upload["UploadId"], path):
            latest = max(latest, part.get("LastModified", EPOCH))
        return latest

    def create(self, key: str, options: dict[str, Any], path: str, operation: str) -> str:
        """Start a multipart upload for ``key``; returns its id."""
        with s3_errors(self.errors, operation, path):
            response = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, **options)
        upload_id: str = response["UploadId"]
        return upload_id

    def complete(
        self, key: str, upload_id: str, parts: list[Part], path: str, operation: str
    ) -> None:
        """Make the parts the object at ``key`` (CompleteMultipartUpload)."""
        with s3_errors(self.errors, operation, path):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [_completed(part) for part in parts]},
            )

    def abort(
        self,
        key: str,
        upload_id: str,
        path: str,
        operation: str = "abort upload",
        *,
        missing_ok: bool = False,
    ) -> None:
        """Abort one upload; with ``missing_ok``, one that no longer exists is not an error."""
        with s3_errors(self.errors, operation, path):
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except ClientError as exc:
                if not (missing_ok and error_code(exc) == "NoSuchUpload"):
                    raise

    def abort_older(self, key: str, upload_id: str, path: str) -> None:
        """Abort the pending uploads for exactly ``key`` started before ``upload_id``.

        S3 lists the uploads of one key in the order they were started, so those listed
        before ``upload_id`` are older and those after it newer (left alone); if
        ``upload_id`` is not listed, every other upload for the key goes.
        """
        older = []
        try:
            listed = list(self.pending(key, path))
        except UnsupportedMethodError:
            return  # a service without ListMultipartUploads: what is left there stays
        for upload in listed:
            if upload["Key"] != key:
                continue
            if upload["UploadId"] == upload_id:
                break
            older.append(upload["UploadId"])
        for stale in older:
            self.abort(key, stale, path, missing_ok=True)

    def abort_idle(self, prefix: str, exact: str | None, older_than: datetime, path: str) -> int:
        """Abort uploads for ``exact`` or under ``prefix`` idle since before ``older_than``."""
        aborted = 0
        for upload in list(self.pending(exact or prefix, path)):
            key = upload["Key"]
            if exact is not None and key != exact and not key.startswith(prefix):
                continue
            if upload.get("Initiated", EPOCH) >= older_than:
                continue
            if self.last_activity(upload, path) >= older_than:
                continue
            self.abort(key, upload["UploadId"], path)
            aborted += 1
        return aborted

    def copy_parts(
        self,
        source_key: str,
        dest_key: str,
        size: int,
        upload_id: str,
        path: str,
        *,
        balanced: bool = False,
        source_bucket: str | None = None,
    ) -> list[Part]:
        """UploadPartCopy ``source_key`` into upload ``upload_id`` of ``dest_key``, in parallel.

        Parts are ``multipartcopychunksize`` (the last may be short) or, ``balanced``, as few
        equal parts as S3's 5 GiB limit allows, so that more parts can follow them. The source
        is in ``source_bucket`` (default: the driver's own bucket).
        """
        if balanced:
            chunk = math.ceil(size / math.ceil(size / MAX_CHUNK_SIZE))
        else:
            chunk = self.settings.multipartcopychunksize
        ranges = [(start, min(start + chunk, size) - 1) for start in range(0, size, chunk)]
        source = {"Bucket": source_bucket or self.bucket, "Key": source_key}

        def copy_one(numbered: tuple[int, tuple[int, int]]) -> Part:
            number, (first, last) = numbered
            with s3_errors(self.errors, "copy", path):
                response = self.client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=dest_key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={first}-{last}",
                )
            result = response["CopyPartResult"]
            return Part(number, result["ETag"], last - first + 1, result.get("ChecksumCRC32"))

        limit = self.settings.multipartcopymaxconcurrency
        workers = max(1, min(limit, len(ranges), MAX_COPY_THREADS))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(copy_one, enumerate(ranges, start=1)))

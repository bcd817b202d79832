"""The ``s3`` storage driver (also registered as ``s3aws``): the contract's verbs over boto3.

Paths become keys under ``rootdirectory`` in one bucket. Reads are ranged GETs; ``stat``
is a HeadObject, else a one-key listing of ``key/`` that finds a directory; ``list`` is a
delimited, paginated ListObjectsV2; ``walk`` is one flat listing put into walk order
(:mod:`.listing`); ``delete`` and ``delete_many`` list flat and send DeleteObjects in
batches of 1,000, never touching a sibling that only shares a prefix; ``move`` and ``copy``
copy inside S3 (CopyObject, or UploadPartCopy in parallel above
``multipartcopythresholdsize`` and always above 5 GiB, aborting on failure). Writers are
multipart uploads (:mod:`.writer`, with the upload bookkeeping in :mod:`.uploads`).
``redirect_url`` presigns GET/HEAD for 20 minutes,
against ``redirectendpoint`` when one is set.
"""

from __future__ import annotations

import builtins
import contextlib
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, Self

from botocore.exceptions import ClientError

from distribution_storage.driver.accounts import same_account
from distribution_storage.driver.contract import (
    Capability,
    FileInfo,
    FileWriter,
    StorageDriver,
    WalkPrune,
    collect_subtrees,
)
from distribution_storage.driver.errors import (
    PathNotFoundError,
    StorageDriverError,
    UnsupportedMethodError,
)
from distribution_storage.driver.flat_walk import walk_order
from distribution_storage.driver.paths import ROOT, is_under, join, walk_key
from distribution_storage.driver.streams import ReadableStream
from distribution_storage.drivers.s3.buffers import BlockPool
from distribution_storage.drivers.s3.client import (
    S3ErrorContext,
    error_code,
    make_client,
    s3_errors,
)
from distribution_storage.drivers.s3.listing import FlatListing, list_objects, start_after_ranges
from distribution_storage.drivers.s3.parameters import (
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    S3Settings,
    read_settings,
)
from distribution_storage.drivers.s3.uploads import EPOCH, MultipartUploads
from distribution_storage.drivers.s3.writer import S3Writer, part_size

REDIRECT_SECONDS = 20 * 60
LIST_PAGE_SIZE = 1000
DELETE_BATCH = 1000


class S3Driver(StorageDriver):
    """Storage in an S3 bucket (AWS or any S3-compatible service) through boto3."""

    name = "s3"
    capabilities = frozenset(
        {
            Capability.REDIRECT,
            Capability.BATCH_DELETE,
            Capability.SERVER_SIDE_COPY,
            Capability.FLAT_WALK,
            Capability.PENDING_UPLOADS,
        }
    )

    def __init__(self, settings: S3Settings, *, equal_parts: int | None = None) -> None:
        """A driver for ``settings``; ``equal_parts`` shortens the part-size plan (tests)."""
        self.settings = settings
        self.client: Any = make_client(settings)
        self._presigner: Any = (
            make_client(settings, endpoint=settings.redirectendpoint)
            if settings.redirectendpoint
            else self.client
        )
        self.errors = S3ErrorContext(settings)
        self.uploads = MultipartUploads(self.client, settings, self.errors)
        self._prefix = settings.key_prefix
        self._equal_parts = equal_parts
        self.list_page_size = LIST_PAGE_SIZE
        self.part_blocks = BlockPool(settings.chunksize)
        """The writers' part buffers, reused from part to part and writer to writer."""
        """Keys per ListObjectsV2 page in ``walk`` (S3's maximum; tests lower it)."""

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> Self:
        """Build the driver from distribution's ``storage.s3`` parameters."""
        return cls(read_settings(parameters, driver=cls.name))

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret key, session token and access key, scrubbed from every error."""
        return self.settings.secrets

    # -- keys -------------------------------------------------------------------------

    def key(self, path: str) -> str:
        """The object key of ``path`` (the root's key is the bare prefix)."""
        return self._prefix if path == ROOT else self._prefix + path[1:]

    def _dir_prefix(self, path: str) -> str:
        return self._prefix if path == ROOT else self.key(path) + "/"

    def part_size(self, number: int) -> int:
        """The planned size of part ``number`` of a writer's multipart upload."""
        if self._equal_parts is None:
            return part_size(number, self.settings.chunksize)
        step = max(1, self._equal_parts // 10)
        return part_size(
            number, self.settings.chunksize, equal_parts=self._equal_parts, growth_step=step
        )

    def object_options(self) -> dict[str, Any]:
        """ACL, storage class and encryption headers for objects the driver creates."""
        options: dict[str, Any] = {"ContentType": "application/octet-stream"}
        if self.settings.objectacl != "none":
            options["ACL"] = self.settings.objectacl
        if self.settings.storageclass != "NONE":
            options["StorageClass"] = self.settings.storageclass
        if self.settings.encrypt:
            options["ServerSideEncryption"] = "aws:kms" if self.settings.keyid else "AES256"
            if self.settings.keyid:
                options["SSEKMSKeyId"] = self.settings.keyid
        return options

    def _head(self, path: str, operation: str) -> dict[str, Any] | None:
        try:
            with s3_errors(self.errors, operation, path):
                head: dict[str, Any] = self.client.head_object(
                    Bucket=self.settings.bucket, Key=self.key(path)
                )
                return head
        except PathNotFoundError:
            return None

    # -- reading ------------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        """The whole object at ``path``."""
        with s3_errors(self.errors, "get_content", path):
            response = self.client.get_object(Bucket=self.settings.bucket, Key=self.key(path))
            data: bytes = response["Body"].read()
            return data

    def put_content(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path`` with one PutObject."""
        with s3_errors(self.errors, "put_content", path):
            self.client.put_object(
                Bucket=self.settings.bucket,
                Key=self.key(path),
                Body=bytes(data),
                **self.object_options(),
            )

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """A stream from ``offset`` (a ranged GET); at or past the end an empty stream."""
        request: dict[str, Any] = {"Bucket": self.settings.bucket, "Key": self.key(path)}
        if offset > 0:
            request["Range"] = f"bytes={offset}-"
        try:
            with s3_errors(self.errors, "reader", path):
                response = self.client.get_object(**request)
        except StorageDriverError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and error_code(cause) == "InvalidRange":
                return io.BytesIO(b"")
            raise
        return io.BufferedReader(ReadableStream(response["Body"]), buffer_size=1024 * 1024)

    def stat(self, path: str) -> FileInfo:
        """HeadObject for a file, else a one-key listing of ``key/`` for a directory."""
        if path != ROOT:
            head = self._head(path, "stat")
            if head is not None:
                return FileInfo(path, int(head["ContentLength"]), head["LastModified"], False)
        with s3_errors(self.errors, "stat", path):
            page = self.client.list_objects_v2(
                Bucket=self.settings.bucket, Prefix=self._dir_prefix(path), MaxKeys=1
            )
        contents = page.get("Contents", ())
        if not contents and path != ROOT:
            raise PathNotFoundError(path)
        mod_time = contents[0]["LastModified"] if contents else EPOCH
        return FileInfo(path, 0, mod_time, True)

    def list(self, path: str) -> list[str]:
        """Direct children of ``path`` from a delimited, paginated listing."""
        prefix = self._dir_prefix(path)
        children: set[str] = set()
        request: dict[str, Any] = {
            "Bucket": self.settings.bucket,
            "Prefix": prefix,
            "Delimiter": "/",
        }
        with s3_errors(self.errors, "list", path):
            while True:
                page = self.client.list_objects_v2(**request)
                for item in page.get("Contents", ()):
                    name = item["Key"][len(prefix) :]
                    if name:
                        children.add(join(path, name))
                for common in page.get("CommonPrefixes", ()):
                    name = common["Prefix"][len(prefix) :].rstrip("/")
                    if name:
                        children.add(join(path, name))
                token = page.get("NextContinuationToken")
                if not page.get("IsTruncated") or not token:
                    break
                request["ContinuationToken"] = token
        if not children and path != ROOT:
            raise PathNotFoundError(path)
        return sorted(children, key=walk_key)

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        """Every file and directory below ``path`` from one flat listing, in walk order."""
        prefix = self._dir_prefix(path)
        after: str | None = None
        ranges: builtins.list[tuple[str | None, str | None]] = [(None, None)]
        if start_after is not None and is_under(start_after, path):
            after = start_after[len(path) :].lstrip("/") if path != ROOT else start_after[1:]
            ranges = [
                (prefix + first, prefix + stop if stop is not None else None)
                for first, stop in start_after_ranges(after)
            ]
        elif start_after is not None and walk_key(start_after) > walk_key(path):
            ranges = []
        return self._walk(path, prefix, ranges, after, prune)

    def _walk(
        self,
        path: str,
        prefix: str,
        ranges: builtins.list[tuple[str | None, str | None]],
        after: str | None,
        prune: WalkPrune | None,
    ) -> Iterator[FileInfo]:
        listing = FlatListing(
            self.client, self.settings.bucket, prefix, ranges, page_size=self.list_page_size
        )
        with s3_errors(self.errors, "walk", path):
            yield from walk_order(
                listing, base=path, after=after, prune=prune, on_prune=listing.skip_subtree
            )
            if not listing.yielded and path != ROOT:
                # Nothing listed: fine for a directory walked past its end, not for a file
                # or a missing path (the contract's walk lists the path first).
                page = self.client.list_objects_v2(
                    Bucket=self.settings.bucket, Prefix=prefix, MaxKeys=1
                )
                if not page.get("Contents"):
                    raise PathNotFoundError(path)

    # -- writing --------------------------------------------------------------------

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        """A multipart writer; with ``append`` the upload a closed writer left open."""
        if not append:
            return S3Writer(self, path)
        key = self.key(path)
        try:
            pending = self.uploads.find(key, path)
        except UnsupportedMethodError as exc:
            raise UnsupportedMethodError(
                f"writer {path} (append): resuming an upload needs ListMultipartUploads, "
                f"which the S3 service at {self.errors.endpoint} does not implement"
            ) from exc
        if pending is not None:
            upload_id = pending["UploadId"]
            parts = self.uploads.parts(key, upload_id, path)
            if parts or self._head(path, "writer") is None:
                # owns_object: an object an earlier session's rebase left at the key goes
                # too if this writer is cancelled.
                crc32 = pending.get("ChecksumAlgorithm") == "CRC32"
                return S3Writer(
                    self, path, upload_id=upload_id, parts=parts, owns_object=True, crc32=crc32
                )
            # An empty upload next to an object: a rebase was interrupted; the object holds
            # everything written so far.
            self.uploads.abort(key, upload_id, path, "writer")
        head = self._head(path, "writer")
        if head is None:
            raise PathNotFoundError(path)
        size = int(head["ContentLength"])
        if size < MIN_CHUNK_SIZE:
            return S3Writer(self, path, owns_object=True, buffer=self.get_content(path))
        upload_id = self.uploads.create(key, self.object_options(), path, "writer")
        parts = self.uploads.copy_parts(key, key, size, upload_id, path, balanced=True)
        return S3Writer(self, path, upload_id=upload_id, parts=parts, owns_object=True)

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        """Abort multipart uploads below ``path`` idle since before ``older_than``.

        An upload's age is its last activity: the later of its initiation and its newest
        part, so a long upload that is still being written is left alone.
        """
        exact = None if path == ROOT else self.key(path)
        return self.uploads.abort_idle(self._dir_prefix(path), exact, older_than, path)

    # -- copying and moving -------------------------------------------------------------

    def copy(self, source: str, dest: str) -> None:
        """Server-side copy: CopyObject, or a multipart UploadPartCopy for large objects."""
        head = self._head(source, "copy")
        if head is None:
            raise PathNotFoundError(source)
        if source == dest:
            return
        size = int(head["ContentLength"])
        self._server_copy(self.settings.bucket, self.key(source), size, dest, source)

    def copy_from(self, source: StorageDriver, source_path: str, dest_path: str) -> bool:
        """Copy from another S3 driver of the same endpoint and account, inside S3.

        Used by migration between buckets (or prefixes); False, so the caller streams,
        when ``source`` is another service or account.
        """
        if not isinstance(source, S3Driver) or not self.same_account(source):
            return False
        head = source._head(source_path, "copy")
        if head is None:
            raise PathNotFoundError(source_path)
        bucket, key = source.settings.bucket, source.key(source_path)
        self._server_copy(bucket, key, int(head["ContentLength"]), dest_path, source_path)
        return True

    def same_account(self, other: S3Driver) -> bool:
        """Whether ``other`` reaches the same endpoint with the same credentials."""
        fields = ("regionendpoint", "region", "accesskey", "secretkey", "sessiontoken")
        return same_account(self.settings, other.settings, fields)

    def _server_copy(
        self, source_bucket: str, source_key: str, size: int, dest: str, path: str
    ) -> None:
        """Copy a key of ``source_bucket`` to ``dest``; errors name ``path`` (the source)."""
        dest_key = self.key(dest)
        if size <= min(self.settings.multipartcopythresholdsize, MAX_CHUNK_SIZE) or size == 0:
            with s3_errors(self.errors, "copy", path):
                self.client.copy_object(
                    Bucket=self.settings.bucket,
                    Key=dest_key,
                    CopySource={"Bucket": source_bucket, "Key": source_key},
                    MetadataDirective="REPLACE",
                    **self.object_options(),
                )
            return
        upload_id = self.uploads.create(dest_key, self.object_options(), path, "copy")
        try:
            parts = self.uploads.copy_parts(
                source_key, dest_key, size, upload_id, path, source_bucket=source_bucket
            )
            self.uploads.complete(dest_key, upload_id, parts, path, "copy")
        except BaseException:
            # The copy's own failure is the one to report; the abort is best effort.
            with contextlib.suppress(Exception):
                self.uploads.abort(dest_key, upload_id, path)
            raise

    def move(self, source: str, dest: str) -> None:
        """Copy inside S3, then delete the source."""
        self.copy(source, dest)
        if source != dest:
            with s3_errors(self.errors, "move", source):
                self.client.delete_object(Bucket=self.settings.bucket, Key=self.key(source))

    # -- deleting -----------------------------------------------------------------------

    def _keys_of(self, path: str) -> builtins.list[str]:
        """The key of ``path`` (if it is a file) and every key below it."""
        key = self.key(path)
        with s3_errors(self.errors, "delete", path):
            first = self.client.list_objects_v2(
                Bucket=self.settings.bucket, Prefix=key, MaxKeys=1
            ).get("Contents", ())
            keys = [key] if first and first[0]["Key"] == key else []
            keys.extend(
                key + "/" + item.relative
                for item in list_objects(self.client, self.settings.bucket, key + "/")
            )
        return keys

    def _delete_keys(self, keys: Iterable[str], path: str) -> None:
        batch: builtins.list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                self._delete_batch(batch, path)
                batch = []
        if batch:
            self._delete_batch(batch, path)

    def _delete_batch(self, keys: builtins.list[str], path: str) -> None:
        with s3_errors(self.errors, "delete", path):
            response = self.client.delete_objects(
                Bucket=self.settings.bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )
        failed = response.get("Errors", ())
        if failed:
            first = failed[0]
            raise StorageDriverError(
                f"delete {path}: {len(failed)} keys not deleted, e.g. "
                f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
            )

    def delete(self, path: str) -> None:
        """Delete ``path`` and everything below it, in batches of 1,000 keys."""
        keys = self._keys_of(path)
        if not keys:
            raise PathNotFoundError(path)
        self._delete_keys(keys, path)

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete every path (recursively) in shared batches; returns the missing ones."""
        keys, missing = collect_subtrees(paths, self._keys_of)
        self._delete_keys(keys, ROOT)
        return missing

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete exactly these keys, 1,000 per DeleteObjects request, listing nothing.

        S3 does not tell which keys were missing, so nothing is reported missing.
        """
        self._delete_keys(dict.fromkeys(self.key(path) for path in paths), ROOT)
        return []

    # -- redirects ----------------------------------------------------------------------

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        """A presigned GET or HEAD URL valid for 20 minutes; None for other methods."""
        operation = {"GET": "get_object", "HEAD": "head_object"}.get(method.upper())
        if operation is None:
            return None
        with s3_errors(self.errors, "redirect_url", path):
            url: str = self._presigner.generate_presigned_url(
                operation,
                Params={"Bucket": self.settings.bucket, "Key": self.key(path)},
                ExpiresIn=REDIRECT_SECONDS,
            )
        return url

    def close(self) -> None:
        """Close the HTTP connection pools and drop the free part buffers."""
        self.part_blocks.clear()
        self.client.close()
        if self._presigner is not self.client:
            self._presigner.close()

    def __repr__(self) -> str:
        root = f", rootdirectory={self.settings.rootdirectory!r}" if self._prefix else ""
        return f"S3Driver(bucket={self.settings.bucket!r}{root})"

"""The ``azure`` driver's writer: an append blob grown in conditional blocks of at most 4 MiB.

Bytes are buffered and appended to an append blob at the path in blocks of at most 4 MiB
(the Append Block limit), each with an append-position condition (the offset it must land
at) and an ETag condition (nobody else wrote since). A timed-out or otherwise ambiguous
append is never retried blindly: the blob is read back first, and if the block is already
there the writer carries on, so no byte is stored twice. ``close`` appends what is buffered,
so ``writer(path, append=True)``, in any process, resumes from the blob's size; ``commit``
does the same (the content is the blob itself). A zero-length block blob (what
``put_content(path, b"")`` writes) is converted into an append blob when appended to.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobType

from distribution_storage.driver.contract import FileWriter
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError

if TYPE_CHECKING:
    from distribution_storage.drivers.azure import AzureDriver

MAX_APPEND_BLOCK = 4 * 1024 * 1024
"""The largest block one Append Block call takes (on every service version)."""
VERIFY_ATTEMPTS = 5


class AzureAppendWriter(FileWriter):
    """A resumable writer over one append blob (see the module docstring)."""

    def __init__(
        self, driver: AzureDriver, path: str, blob: BlobClient, *, resume: bool = False
    ) -> None:
        super().__init__(path)
        self._driver = driver
        self._blob = blob
        self._buffer = bytearray()
        self._offset = 0
        self._etag: str | None = None
        self._created = False
        if resume:
            self._resume()

    @property
    def size(self) -> int:
        return self._offset + len(self._buffer)

    def _resume(self) -> None:
        with self._driver.errors("writer", self.path):
            try:
                props = self._blob.get_blob_properties()
            except ResourceNotFoundError:
                raise PathNotFoundError(self.path) from None
            if props.blob_type == BlobType.APPENDBLOB:
                self._offset, self._etag = int(props.size), str(props.etag)
            elif props.size == 0:
                # A committed empty block blob: turn it into an empty append blob.
                created = self._driver.replace_blob(
                    self._blob,
                    lambda: self._blob.create_append_blob(
                        etag=props.etag, match_condition=MatchConditions.IfNotModified
                    ),
                )
                self._etag = str(created["etag"])
            else:
                raise StorageDriverError(
                    f"writer {self.path}: a {props.blob_type} blob with content cannot be "
                    "appended to (only append blobs and empty block blobs can)"
                )
        self._created = True

    def _create(self) -> None:
        if self._created:
            return
        with self._driver.errors("writer", self.path):
            created = self._driver.replace_blob(self._blob, lambda: self._blob.create_append_blob())
        self._etag = str(created["etag"])
        self._created = True

    def _append(self, block: bytes) -> None:
        self._create()
        with self._driver.errors("write", self.path):
            try:
                result = self._blob.append_block(
                    block,
                    length=len(block),
                    appendpos_condition=self._offset,
                    etag=self._etag,
                    match_condition=MatchConditions.IfNotModified,
                )
                self._etag = str(result["etag"])
            except (HttpResponseError, AzureError) as exc:
                if isinstance(exc, ResourceNotFoundError):
                    raise StorageDriverError(
                        f"write {self.path}: the append blob was deleted while being written"
                    ) from exc
                self._verify_or_retry(block, exc)
        self._offset += len(block)

    def _verify_or_retry(self, block: bytes, first: Exception) -> None:
        """After an ambiguous append, look at the blob before doing anything again."""
        end = self._offset + len(block)
        for attempt in range(VERIFY_ATTEMPTS):
            props = self._blob.get_blob_properties()
            size = int(props.size)
            if size == end and self._read_back(len(block)) == block:
                self._etag = str(props.etag)
                return  # the "failed" append had landed
            if size != self._offset:
                raise StorageDriverError(
                    f"write {self.path}: the blob is {size} bytes, expected {self._offset} "
                    "(another writer appended to it)"
                ) from first
            time.sleep(self._driver.parameters.retry_delay * 2**attempt)
            try:
                result = self._blob.append_block(
                    block,
                    length=len(block),
                    appendpos_condition=self._offset,
                    etag=str(props.etag),
                    match_condition=MatchConditions.IfNotModified,
                )
            except (HttpResponseError, AzureError):
                continue
            self._etag = str(result["etag"])
            return
        raise StorageDriverError(
            f"write {self.path}: appending at offset {self._offset} kept failing"
        ) from first

    def _read_back(self, length: int) -> bytes:
        data: bytes = self._blob.download_blob(offset=self._offset, length=length).readall()
        return data

    def _flush(self, everything: bool) -> None:
        while len(self._buffer) >= MAX_APPEND_BLOCK or (everything and self._buffer):
            block = bytes(self._buffer[:MAX_APPEND_BLOCK])
            self._append(block)
            del self._buffer[: len(block)]

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        self._flush(everything=False)

    def _close(self) -> None:
        self._flush(everything=True)
        self._create()

    def _commit(self) -> None:
        self._close()

    def _cancel(self) -> None:
        self._buffer.clear()
        if self._created:
            with (
                self._driver.errors("cancel", self.path),
                contextlib.suppress(ResourceNotFoundError),
            ):
                self._blob.delete_blob()

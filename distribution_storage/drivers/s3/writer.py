"""The ``s3`` driver's writer: a resumable multipart upload with equal-size parts.

Bytes are buffered and sent as parts of exactly the planned size (:func:`part_size`:
``chunksize`` for the first 5,000 parts, then doubling every 500 parts up to S3's 5 GiB, so
a stream never runs out of S3's 10,000 parts before S3's 5 TiB object limit); up to four
parts travel at once while the caller goes on writing. ``close``
sends the buffered tail as one more part and leaves the upload open; a writer opened with
``append=True`` (in this process or another) finds that upload again through
ListMultipartUploads and ListParts. S3 only accepts a part under 5 MiB as the last one, so
a resumed upload whose last part is short is *rebased* before anything is added: it is
completed, a new upload is started for the same key, and the object comes back as its
first parts (UploadPartCopy), or into the buffer when it is under 5 MiB. ``commit`` with
nothing sent yet is one PutObject (which is how a zero-byte commit works); ``cancel``
aborts the upload and removes an object the rebase left behind.
"""

from __future__ import annotations

import contextlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from distribution_storage.driver.contract import FileWriter
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.drivers.s3.client import s3_errors
from distribution_storage.drivers.s3.parameters import MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from distribution_storage.drivers.s3.uploads import Part

if TYPE_CHECKING:
    from distribution_storage.drivers.s3.driver import S3Driver

MAX_PARTS = 10_000
EQUAL_PARTS = 5_000
GROWTH_STEP = 500
UPLOADS_IN_FLIGHT = 4
"""Parts one writer uploads at the same time while the caller goes on writing."""


def part_size(
    number: int,
    chunksize: int,
    *,
    equal_parts: int = EQUAL_PARTS,
    growth_step: int = GROWTH_STEP,
) -> int:
    """The planned size of part ``number`` (1-based) of a stream written in ``chunksize`` parts.

    Parts up to ``equal_parts`` are ``chunksize``; after that the size doubles every
    ``growth_step`` parts, capped at 5 GiB.
    """
    if number <= equal_parts:
        return chunksize
    tier = (number - equal_parts - 1) // growth_step + 1
    return min(chunksize << tier, MAX_CHUNK_SIZE)


class S3Writer(FileWriter):
    """A :class:`FileWriter` over one multipart upload; see the module docstring."""

    def __init__(
        self,
        driver: S3Driver,
        path: str,
        *,
        upload_id: str | None = None,
        parts: list[Part] | None = None,
        owns_object: bool = False,
        buffer: bytes = b"",
    ) -> None:
        super().__init__(path)
        self._driver = driver
        self._client: Any = driver.client
        self._bucket = driver.settings.bucket
        self._key = driver.key(path)
        self._upload_id = upload_id
        self._parts = list(parts or [])
        self._buffer = bytearray(buffer)
        self._resumed = upload_id is not None or owns_object
        self._owns_object = owns_object
        self._in_flight: deque[tuple[int, Future[Part]]] = deque()
        self._pool: ThreadPoolExecutor | None = None

    @property
    def size(self) -> int:
        """Bytes written so far, including those persisted by earlier sessions."""
        sent = sum(part.size for part in self._parts)
        return sent + sum(size for size, _ in self._in_flight) + len(self._buffer)

    @property
    def parts(self) -> list[Part]:
        """The parts uploaded so far (for tests and diagnostics)."""
        return list(self._parts)

    def _next_number(self) -> int:
        return len(self._parts) + len(self._in_flight) + 1

    def _next_part_size(self) -> int:
        return self._driver.part_size(self._next_number())

    def _drain(self) -> None:
        """Wait for the parts in flight; raise the first failure once all have ended."""
        failure: BaseException | None = None
        while self._in_flight:
            _, future = self._in_flight.popleft()
            try:
                self._parts.append(future.result())
            except BaseException as exc:  # the first failure wins; the others ended too
                failure = failure or exc
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if failure is not None:
            raise failure

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        self._make_growable()
        while len(self._buffer) >= self._next_part_size():
            self._flush_part(self._next_part_size())

    def _close(self) -> None:
        if self._buffer:
            self._write(b"")
            if self._buffer:
                self._flush_part(len(self._buffer), "close")
        elif self._upload_id is None and not self._owns_object:
            # An empty part marks "zero bytes written" for a resumed writer to find.
            self._flush_part(0, "close")
        self._drain()

    def _commit(self) -> None:
        if self._upload_id is None:
            with s3_errors(self._driver.errors, "commit", self.path):
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Body=bytes(self._buffer),
                    **self._driver.object_options(),
                )
            return
        if self._buffer:
            self._write(b"")
        if self._buffer or not (self._parts or self._in_flight):
            self._flush_part(len(self._buffer), "commit")
        self._drain()
        self._complete("commit")

    def _cancel(self) -> None:
        with contextlib.suppress(Exception):
            self._drain()
        with s3_errors(self._driver.errors, "cancel", self.path):
            if self._upload_id is not None:
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
                )
            if self._owns_object:
                self._client.delete_object(Bucket=self._bucket, Key=self._key)
        self._buffer.clear()
        self._upload_id = None

    def _make_growable(self) -> None:
        """Rebase first if new bytes would follow a part S3 only accepts as the last."""
        short_last = bool(self._parts) and self._parts[-1].size < MIN_CHUNK_SIZE
        if self._buffer and short_last and not self._in_flight:
            self._rebase()

    def _flush_part(self, size: int, operation: str = "write") -> None:
        """Send the first ``size`` buffered bytes as the next part, in the background.

        At most ``UPLOADS_IN_FLIGHT`` parts travel at once; the oldest is waited for
        before another starts, so a failure surfaces at the next write, close or commit.
        """
        if self._upload_id is None:
            self._start_upload(fresh=not self._resumed, operation=operation)
        number = self._next_number()
        if number > MAX_PARTS:
            raise StorageDriverError(f"{operation} {self.path}: more than {MAX_PARTS} parts")
        body = bytes(self._buffer[:size])
        del self._buffer[:size]
        upload_id = self._upload_id

        def send() -> Part:
            with s3_errors(self._driver.errors, operation, self.path):
                response = self._client.upload_part(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                )
            return Part(number, response["ETag"], len(body))

        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=UPLOADS_IN_FLIGHT)
        while len(self._in_flight) >= UPLOADS_IN_FLIGHT:
            _, oldest = self._in_flight.popleft()
            self._parts.append(oldest.result())
        self._in_flight.append((len(body), self._pool.submit(send)))

    def _start_upload(self, *, fresh: bool, operation: str = "write") -> None:
        if fresh:
            # A new stream replaces whatever an earlier writer left pending at this key.
            self._driver.uploads.abort_for_key(self._key, self.path)
        options = self._driver.object_options()
        self._upload_id = self._driver.uploads.create(self._key, options, self.path, operation)

    def _complete(self, operation: str) -> None:
        upload_id = self._upload_id or ""
        self._driver.uploads.complete(self._key, upload_id, self._parts, self.path, operation)
        self._upload_id = None

    def _rebase(self) -> None:
        """Turn the upload whose last part is short into a new one that can grow."""
        self._complete("write")
        self._owns_object = True
        stored = sum(part.size for part in self._parts)
        self._parts = []
        if stored < MIN_CHUNK_SIZE:
            with s3_errors(self._driver.errors, "write", self.path):
                body = self._client.get_object(Bucket=self._bucket, Key=self._key)["Body"]
                head = body.read()
            self._buffer[:0] = head
            return
        self._start_upload(fresh=False)
        self._parts = self._driver.uploads.copy_parts(
            self._key, self._key, stored, self._upload_id or "", self.path, balanced=True
        )

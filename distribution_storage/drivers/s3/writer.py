"""The ``s3`` driver's writer: a resumable multipart upload with equal-size parts.

Bytes are buffered and sent as parts of exactly the planned size (:func:`part_size`:
``chunksize`` for the first 5,000 parts, then doubling every 500 parts up to S3's 5 GiB, so
a stream never runs out of S3's 10,000 parts before S3's 5 TiB object limit). Full parts are
sent in the background (:class:`BackgroundParts`) while the caller goes on writing, at most
``uploadconcurrency`` (2 by default) at once, so a writer holds at most that many parts plus
one partly filled buffer in memory. Parts are gathered in blocks the driver reuses
(:mod:`.buffers`): a sent block goes back to the driver's pool for the next part. ``close``
sends the buffered tail as one more part and leaves the upload open; a writer opened with
``append=True`` (in this process or another) finds that upload again through
ListMultipartUploads and ListParts. S3 only accepts a part under 5 MiB as the last one, so a
resumed upload whose last part is short is *rebased* before anything is added: it is
completed, a new upload is started for the same key, and the object comes back as its first
parts (UploadPartCopy), or into the buffer when it is under 5 MiB. ``commit`` with nothing
sent yet is one PutObject (which is how a zero-byte commit works); ``cancel`` waits for the
parts in flight, aborts the upload and removes an object the rebase left behind.

With ``checksumalgorithm: crc32`` (the default) an upload the writer starts declares CRC32,
every part carries its CRC32 in a header (computed here, on the part's sending thread) and
the completion lists them, as boto3's own transfers do; S3 checks each part against it. A
resumed upload keeps the algorithm it was started with; a rebased one has none.
"""

from __future__ import annotations

import base64
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from distribution_storage.driver.contract import FileWriter
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.drivers.s3.buffers import PartBuffer
from distribution_storage.drivers.s3.client import s3_errors
from distribution_storage.drivers.s3.parameters import MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from distribution_storage.drivers.s3.uploads import Part

if TYPE_CHECKING:
    from distribution_storage.drivers.s3.driver import S3Driver

MAX_PARTS = 10_000
EQUAL_PARTS = 5_000
GROWTH_STEP = 500


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


def part_crc32(data: bytes | bytearray) -> str:
    """The base64 CRC32 of ``data``, as S3's ``x-amz-checksum-crc32`` header carries it."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode("ascii")


class BackgroundParts:
    """The parts of one upload under way on a small thread pool, at most ``limit`` at once.

    Finished parts are appended to ``done`` in part-number order. The first failure is kept
    and raised again by every later :meth:`check` and :meth:`drain`: once a part is lost,
    the writer must neither send parts after the gap nor complete the upload. A request
    that is no part (the writer's check for uploads an earlier writer left) can run beside
    them (:meth:`run_aside`), on one more thread, with the same rules for its failure.
    """

    def __init__(self, done: list[Part], limit: int) -> None:
        self.done = done
        self.limit = limit
        self.failure: Exception | None = None
        self._in_flight: deque[tuple[int, Future[Part]]] = deque()
        self._aside: list[Future[None]] = []
        self._pool: ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        return len(self._in_flight)

    @property
    def size(self) -> int:
        """Bytes of the parts under way."""
        return sum(size for size, _ in self._in_flight)

    def submit(self, size: int, send: Callable[[], Part]) -> None:
        """Run ``send`` (which uploads ``size`` bytes) in the background.

        The caller waits for room first (:meth:`make_room`), before it takes the part's
        bytes from its buffer, so that at most ``limit`` parts are held at once.
        """
        self._in_flight.append((size, self._executor().submit(send)))

    def run_aside(self, task: Callable[[], None]) -> None:
        """Run ``task`` (a request that is not a part) in the background; a failure counts
        as a lost part's, and :meth:`drain` and :meth:`settle` wait for it too."""
        self._aside.append(self._executor().submit(task))

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            # one thread beyond the parts' for a task aside, so that it holds up no part
            self._pool = ThreadPoolExecutor(self.limit + 1, thread_name_prefix="s3-part")
        return self._pool

    def make_room(self) -> None:
        """Wait until fewer than ``limit`` parts are under way; raise a failure."""
        while len(self._in_flight) >= self.limit:
            self._settle_oldest()
        self.check()

    def check(self) -> None:
        """Collect the parts that have finished, without waiting; raise a failure."""
        if self.failure is None and any(f.done() and f.exception() for _, f in self._in_flight):
            self.settle()
        while self._in_flight and self._in_flight[0][1].done():
            self._settle_oldest()
        self._settle_aside(only_done=True)
        if self.failure is not None:
            raise self.failure

    def drain(self) -> None:
        """Wait for every part under way; raise the first failure."""
        self.settle()
        if self.failure is not None:
            raise self.failure

    def settle(self) -> None:
        """Wait for every part under way and stop the pool, keeping a failure for later."""
        waiting: list[Future[Any]] = [future for _, future in self._in_flight]
        wait(waiting + self._aside)
        while self._in_flight:
            self._settle_oldest()
        self._settle_aside(only_done=False)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _settle_aside(self, *, only_done: bool) -> None:
        for future in [f for f in self._aside if f.done() or not only_done]:
            self._aside.remove(future)
            error = future.exception()
            if isinstance(error, Exception):
                self.failure = self.failure or error

    def _settle_oldest(self) -> None:
        _, future = self._in_flight.popleft()
        try:
            part = future.result()
        except Exception as exc:
            self.failure = self.failure or exc
            return
        if self.failure is None:
            self.done.append(part)


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
        crc32: bool = False,
    ) -> None:
        """A writer at ``path``; the keywords resume an upload (``upload_id`` with its
        ``parts``, ``crc32`` when it was started with that checksum algorithm) or an object
        (``owns_object``, with its bytes in ``buffer`` when it is under 5 MiB)."""
        super().__init__(path)
        self._driver = driver
        self._client: Any = driver.client
        self._bucket = driver.settings.bucket
        self._key = driver.key(path)
        self._upload_id = upload_id
        self._parts = list(parts or [])
        self._buffer = PartBuffer(driver.part_blocks, buffer)
        self._resumed = upload_id is not None or owns_object
        self._owns_object = owns_object
        self._crc32 = crc32 and upload_id is not None
        self._sending = BackgroundParts(self._parts, driver.settings.uploadconcurrency)

    @property
    def size(self) -> int:
        """Bytes written so far, including those persisted by earlier sessions."""
        sent = sum(part.size for part in self._parts)
        return sent + self._sending.size + len(self._buffer)

    @property
    def parts(self) -> list[Part]:
        """The parts uploaded so far (for tests and diagnostics)."""
        return list(self._parts)

    @property
    def buffered(self) -> int:
        """Bytes this writer holds in memory: its buffer and the parts under way."""
        return len(self._buffer) + self._sending.size

    def _next_number(self) -> int:
        return len(self._parts) + len(self._sending) + 1

    def _next_part_size(self) -> int:
        return self._driver.part_size(self._next_number())

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._sending.check()
        self._make_growable()
        with memoryview(data) as whole:
            view = whole.cast("B")
            while view:
                # Fill the buffer up to the part boundary only, so that a full buffer is
                # handed to the upload as it is, without copying it again.
                view = view[self._buffer.fill(view, self._next_part_size()) :]
                self._send_full_parts()

    def _close(self) -> None:
        self._sending.check()
        if self._buffer:
            self._make_growable()
            self._send_full_parts()
            if self._buffer:
                self._send_part("close")
        elif self._upload_id is None and not self._owns_object:
            # An empty part marks "zero bytes written" for a resumed writer to find.
            self._send_part("close")
        self._sending.drain()
        self._buffer.release()

    def _commit(self) -> None:
        self._sending.check()
        if self._upload_id is None:
            with s3_errors(self._driver.errors, "commit", self.path):
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Body=self._buffer.contents(),
                    **self._driver.object_options(),
                )
            return
        if self._buffer:
            self._make_growable()
            self._send_full_parts()
        if self._buffer or not (self._parts or len(self._sending)):
            self._send_part("commit")
        self._sending.drain()
        self._buffer.release()
        self._complete("commit")

    def _cancel(self) -> None:
        self._sending.settle()
        with s3_errors(self._driver.errors, "cancel", self.path):
            if self._upload_id is not None:
                self._driver.uploads.abort(
                    self._key, self._upload_id, self.path, "cancel", missing_ok=True
                )
            if self._owns_object:
                self._client.delete_object(Bucket=self._bucket, Key=self._key)
        self._buffer.release()
        self._upload_id = None

    def _make_growable(self) -> None:
        """Rebase first if new bytes would follow a part S3 only accepts as the last."""
        short_last = bool(self._parts) and self._parts[-1].size < MIN_CHUNK_SIZE
        if short_last and not len(self._sending):
            self._rebase()

    def _send_full_parts(self) -> None:
        while len(self._buffer) >= self._next_part_size():
            self._send_part("write")

    def _send_part(self, operation: str) -> None:
        """Send the buffered bytes, up to one planned part, as the next part, in the background.

        A failure surfaces at the next write, close or commit, as the error of the
        operation that queued the part.
        """
        self._sending.make_room()
        if self._upload_id is None:
            self._start_upload(fresh=not self._resumed, operation=operation)
        number = self._next_number()
        if number > MAX_PARTS:
            raise StorageDriverError(f"{operation} {self.path}: more than {MAX_PARTS} parts")
        body, pooled = self._buffer.take(min(len(self._buffer), self._driver.part_size(number)))
        upload_id, crc32, blocks = self._upload_id, self._crc32, self._driver.part_blocks

        def send() -> Part:
            try:
                checksum = {"ChecksumCRC32": part_crc32(body)} if crc32 else {}
                with s3_errors(self._driver.errors, operation, self.path):
                    response = self._client.upload_part(
                        Bucket=self._bucket,
                        Key=self._key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=body,
                        **checksum,
                    )
                return Part(number, response["ETag"], len(body), checksum.get("ChecksumCRC32"))
            finally:
                if pooled and isinstance(body, bytearray):
                    blocks.release(body)

        self._sending.submit(len(body), send)

    def _start_upload(
        self, *, fresh: bool, operation: str = "write", checksum: bool = True
    ) -> None:
        """Start the multipart upload; ``checksum``: declare CRC32 if the settings say so
        (not for a rebase, whose first parts are server-side copies)."""
        options = self._driver.object_options()
        self._crc32 = checksum and self._driver.settings.checksumalgorithm == "crc32"
        if self._crc32:
            options["ChecksumAlgorithm"] = "CRC32"
        uploads, key, path = self._driver.uploads, self._key, self.path
        upload_id = uploads.create(key, options, path, operation)
        self._upload_id = upload_id
        if fresh:
            # A new stream replaces whatever an earlier writer left pending at this key:
            # found and aborted beside the first parts rather than before them.
            self._sending.run_aside(lambda: uploads.abort_older(key, upload_id, path))

    def _complete(self, operation: str) -> None:
        upload_id = self._upload_id or ""
        self._driver.uploads.complete(self._key, upload_id, self._parts, self.path, operation)
        self._upload_id = None

    def _rebase(self) -> None:
        """Turn the upload whose last part is short into a new one that can grow."""
        self._complete("write")
        self._owns_object = True
        stored = sum(part.size for part in self._parts)
        self._parts.clear()
        if stored < MIN_CHUNK_SIZE:
            with s3_errors(self._driver.errors, "write", self.path):
                body = self._client.get_object(Bucket=self._bucket, Key=self._key)["Body"]
                head = body.read()
            self._buffer.prepend(head)
            return
        self._start_upload(fresh=False, checksum=False)
        self._parts.extend(
            self._driver.uploads.copy_parts(
                self._key, self._key, stored, self._upload_id or "", self.path, balanced=True
            )
        )

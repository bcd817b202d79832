"""The ``oss`` driver's resumable writer: a multipart upload plus a small tail object.

Full chunks go up as parts of a multipart upload, started lazily. OSS refuses to complete an
upload whose parts, except the last, are under 100 KiB, and a part's bytes cannot be read
back; so ``close`` uploads the buffered tail as a part only when it is at least 100 KiB, and
otherwise keeps it in a tail object at ``<root>~tails/<path>`` (a name no valid path maps to,
hidden from listings). ``writer(path, append=True)``, in any process, finds the open upload
for the exact key (list_multipart_uploads + list_parts) and reads the tail back into its
buffer. ``commit`` completes the upload (or puts one object when no part was uploaded) and
removes the tail; ``cancel`` aborts the upload and removes the tail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from distribution_storage.driver.contract import FileWriter

if TYPE_CHECKING:
    from distribution_storage.drivers.oss_store import OSSStore


@dataclass(frozen=True)
class Part:
    """One uploaded part."""

    number: int
    etag: str
    size: int


MIN_PART_SIZE = 100 * 1024
MAX_PART_SIZE = 5 << 30
PARTS_PER_SIZE = 2000


def part_size(chunksize: int, parts: list[Part]) -> int:
    """The size of the next part: ``chunksize``, doubled after every 2,000 parts.

    OSS allows 10,000 parts per upload; growing the part size instead of failing takes an
    upload to 62,000 chunks (620 GB with 10 MiB chunks) before 5 GiB parts cap it.
    """
    return min(chunksize << (len(parts) // PARTS_PER_SIZE), MAX_PART_SIZE)


@dataclass
class UploadState:
    """Where a writer stands: the open upload (if any), its parts, the tail, and whether a
    tail object is stored."""

    upload_id: str | None
    parts: list[Part]
    tail: bytes
    tail_stored: bool


class OSSWriter(FileWriter):
    """Writes one key as a multipart upload; see the module docstring for the protocol."""

    def __init__(self, store: OSSStore, path: str, state: UploadState) -> None:
        super().__init__(path)
        self._store = store
        self._upload_id = state.upload_id
        self._parts = list(state.parts)
        self._buffer = bytearray(state.tail)
        self._tail_stored = state.tail_stored

    @property
    def size(self) -> int:
        """Bytes written, including the resumed parts and tail."""
        return sum(p.size for p in self._parts) + len(self._buffer)

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        while len(self._buffer) >= (chunk := part_size(self._store.params.chunksize, self._parts)):
            self._upload_part(bytes(self._buffer[:chunk]))
            del self._buffer[:chunk]

    def _upload_part(self, data: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._store.start_upload(self.path)
        number = self._parts[-1].number + 1 if self._parts else 1
        etag = self._store.upload_part(self.path, self._upload_id, number, data)
        self._parts.append(Part(number, etag, len(data)))

    def _close(self) -> None:
        if len(self._buffer) >= MIN_PART_SIZE:
            self._upload_part(bytes(self._buffer))
            self._buffer.clear()
        if self._buffer or self._upload_id is None:
            self._store.put_tail(self.path, bytes(self._buffer), self._upload_id, self._parts)
            self._tail_stored = True
        elif self._tail_stored:
            self._store.delete_tail(self.path)
            self._tail_stored = False

    def _commit(self) -> None:
        if self._upload_id is None:
            self._store.put_object(self.path, bytes(self._buffer))
        else:
            if self._buffer or not self._parts:
                self._upload_part(bytes(self._buffer))
                self._buffer.clear()
            self._store.complete_upload(self.path, self._upload_id, self._parts)
        if self._tail_stored:
            self._store.delete_tail(self.path)

    def _cancel(self) -> None:
        self._buffer.clear()
        if self._upload_id is not None:
            self._store.abort_upload(self.path, self._upload_id)
        if self._tail_stored:
            self._store.delete_tail(self.path)

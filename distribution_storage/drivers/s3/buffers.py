"""The ``s3`` writer's part buffers: blocks of the part size, reused from upload to upload.

A writer gathers each part in memory before it sends it. Gathering into a fresh buffer
every time makes the kernel fault in and zero new pages for every byte written (measured:
a fifth of a migration's CPU). So full parts are gathered in *blocks* of exactly the part
size taken from the driver's :class:`BlockPool`; a full block is handed to the upload as it
is and comes back to the pool when its request is over, for the next part or the next writer.

:class:`PartBuffer` is the writer's buffer. A writer that holds little (a small object, the
start of a stream written in small pieces) keeps it in a plain growable ``bytearray`` and
takes a block only once it holds more than a quarter of a part (and more than :data:`SMALL`),
so that many small uploads at once do not each hold a whole part's memory. With parts larger
than the pool keeps (``POOL_BYTES``), no block is taken at all: the buffer grows as before.
"""

from __future__ import annotations

import threading

SMALL = 1024 * 1024
"""Bytes a writer always gathers in a plain bytearray before it takes a block."""
POOL_BYTES = 64 * 1024 * 1024
"""Most bytes of free blocks a driver keeps for reuse (no block is kept when a part is larger)."""


class BlockPool:
    """Blocks of ``size`` bytes; at most ``keep_bytes`` of free ones are kept for reuse."""

    def __init__(self, size: int, keep_bytes: int = POOL_BYTES) -> None:
        self.size = size
        self.keep = keep_bytes // size
        self.allocated = 0
        """Blocks made so far (the rest of the blocks handed out were reused)."""
        self._free: list[bytearray] = []
        self._lock = threading.Lock()

    @property
    def free(self) -> int:
        """Blocks waiting to be reused."""
        return len(self._free)

    def acquire(self) -> bytearray:
        """A block of ``size`` bytes: a free one if there is one, else a new one."""
        with self._lock:
            if self._free:
                return self._free.pop()
            self.allocated += 1
        return bytearray(self.size)

    def release(self, block: bytearray) -> None:
        """Take ``block`` back (it must no longer be used); kept while there is room."""
        if len(block) != self.size:
            return
        with self._lock:
            if len(self._free) < self.keep:
                self._free.append(block)

    def clear(self) -> None:
        """Drop every free block."""
        with self._lock:
            self._free.clear()


class PartBuffer:
    """The bytes a writer has gathered for its next parts; see the module docstring.

    The data lives in ``_data``: a growable bytearray holding exactly ``len(self)`` bytes,
    or (``_pooled``) a block of the pool's size whose first ``len(self)`` bytes are data.
    """

    def __init__(self, pool: BlockPool, initial: bytes = b"") -> None:
        self._pool = pool
        self._data = bytearray(initial)
        self._length = len(initial)
        self._pooled = False

    def __len__(self) -> int:
        return self._length

    def fill(self, view: memoryview, limit: int) -> int:
        """Copy bytes from the front of ``view`` until the buffer holds ``limit`` bytes;
        returns how many were taken."""
        count = min(len(view), limit - self._length)
        if count <= 0:
            return 0
        end = self._length + count
        if self._pooled and end > len(self._data):  # a larger part than the pool's blocks
            self._unpool(bytearray())
        if (
            not self._pooled
            and self._pool.keep
            and limit == self._pool.size
            and end > max(SMALL, limit // 4)
        ):
            block = self._pool.acquire()
            block[: self._length] = self._data
            self._data, self._pooled = block, True
        if self._pooled:
            self._data[self._length : end] = view[:count]
        else:
            self._data += view[:count]
        self._length = end
        return count

    def take(self, size: int) -> tuple[bytearray | bytes, bool]:
        """Remove the first ``size`` bytes and return them, with whether they are a block of
        the pool (to :meth:`BlockPool.release` once sent). A full block or the whole of a
        growable buffer is handed over without a copy."""
        if size == self._length and (not self._pooled or size == len(self._data)):
            body, pooled = self._data, self._pooled
            self._data, self._length, self._pooled = bytearray(), 0, False
            return body, pooled
        with memoryview(self._data) as data:
            part = bytes(data[:size])
        rest = self._length - size
        if self._pooled:
            self._data[:rest] = self._data[size : self._length]
        else:
            del self._data[:size]
        self._length = rest
        return part, False

    def contents(self) -> bytes:
        """A copy of every byte gathered."""
        with memoryview(self._data) as data:
            return bytes(data[: self._length])

    def prepend(self, head: bytes) -> None:
        """Put ``head`` before the bytes gathered (an object read back for a rebase)."""
        self._unpool(bytearray(head))

    def release(self) -> None:
        """Drop every byte gathered and give a block back to the pool."""
        self._unpool(None)

    def _unpool(self, head: bytearray | None) -> None:
        """Go back to a growable bytearray: ``head`` and the data, or nothing (None)."""
        old, pooled = self._data, self._pooled
        if head is None:
            self._data = bytearray()
        else:
            with memoryview(old) as data:
                head += data[: self._length]
            self._data = head
        self._length, self._pooled = len(self._data), False
        if pooled:
            self._pool.release(old)

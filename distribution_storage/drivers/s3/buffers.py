"""Full-part buffers of the ``s3`` driver's writers, reused across the writers of one driver.

A part handed to botocore is a ``bytearray`` of exactly the part size; once its
``upload_part`` call has returned or failed (retries included, so nothing reads it any more)
the writer gives it to the driver's :class:`PartBuffers`, and the next part of any of the
driver's writers is copied into it instead of into fresh memory: a new 10 MiB buffer per
part costs 2,560 page faults, because the allocator hands such buffers back to the kernel
once freed. The pool never allocates; it keeps at most ``keep`` free buffers, of the
driver's ``chunksize`` only (the bigger parts past part 5,000 are not reused), and drops
them all when the last writer that used it finishes, so an idle driver holds no part memory.
"""

from __future__ import annotations

import threading


class PartBuffers:
    """Free full-part buffers of ``size`` bytes, at most ``keep``, shared by one driver's
    writers while any of them uses the pool (between :meth:`join` and :meth:`leave`).

    ``reused`` counts the buffers handed out again and ``kept`` those taken back (for tests
    and diagnostics).
    """

    def __init__(self, size: int, keep: int) -> None:
        self.size = size
        self.keep = keep
        self.reused = 0
        self.kept = 0
        self._free: list[bytearray] = []
        self._writers = 0
        self._lock = threading.Lock()

    @property
    def free(self) -> int:
        """Buffers held for reuse now."""
        return len(self._free)

    def join(self) -> None:
        """Count one more writer that takes or gives buffers until it calls :meth:`leave`."""
        with self._lock:
            self._writers += 1

    def leave(self) -> None:
        """Count a writer out; the last one out drops every free buffer."""
        with self._lock:
            self._writers -= 1
            if self._writers == 0:
                self._free.clear()

    def take(self, size: int) -> bytearray | None:
        """A free buffer of ``size`` bytes (its old content still in it), or None."""
        with self._lock:
            if size != self.size or not self._free:
                return None
            self.reused += 1
            return self._free.pop()

    def give(self, buffer: bytes | bytearray) -> None:
        """Keep ``buffer`` for reuse if it is a part buffer of the pool's size, there is
        room, and a writer still uses the pool; the caller must not touch it again."""
        if not isinstance(buffer, bytearray) or len(buffer) != self.size:
            return
        with self._lock:
            if self._writers > 0 and len(self._free) < self.keep:
                self._free.append(buffer)
                self.kept += 1

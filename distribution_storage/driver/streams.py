"""One raw stream class over anything with ``read(size)``: SDK response bodies and wrappers.

Every backend hands back its own kind of body (botocore's ``StreamingBody``, an oss2 result,
a swiftclient body, an Azure downloader); the validating wrapper and the fault middleware
wrap driver streams in turn. :class:`ReadableStream` turns any of them into an
``io.RawIOBase``, so callers get ``read``, ``readinto``, ``readall`` and context-manager
closing everywhere; subclasses change one thing, :meth:`ReadableStream._read`.
"""

from __future__ import annotations

import io
from typing import Any


class ReadableStream(io.RawIOBase):
    """A read-only raw binary stream over ``source`` (anything with ``read(size)``).

    Closing the stream closes ``source`` when it has a ``close`` method.
    """

    def __init__(self, source: Any) -> None:
        super().__init__()
        self._source = source

    def _read(self, size: int) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); ``b""`` at the end."""
        data = self._source.read() if size < 0 else self._source.read(size)
        return bytes(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._read(-1 if size is None else size)

    def readall(self) -> bytes:
        return self._read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            closer = getattr(self._source, "close", None)
            try:
                if closer is not None:
                    closer()
            finally:
                super().close()


READ_CHUNK = 64 * 1024


def read_at_most(stream: Any, limit: int) -> bytes:
    """At most ``limit`` bytes from ``stream`` (fewer at its end).

    Read in chunks: ``read(limit)`` on a buffered file allocates ``limit`` bytes first, which
    for a megabyte limit costs more than reading the small file it is usually asked about.
    """
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = stream.read(min(READ_CHUNK, left))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)

"""The ``gcs`` driver's writer: a resumable upload session that outlives the process.

Bytes go to a GCS resumable upload session in chunks that are multiples of 256 KiB; the
object appears only when the session is finalised by ``commit``. ``close`` sends every whole
256 KiB block it holds and stores the rest, with the session URI and the acknowledged offset,
in a placeholder object (content type ``application/x-docker-upload-session``, metadata
``Session-URI`` and ``Offset``, the unsent tail as content), as distribution does. The
placeholder lives under a hidden namespace of the root (see :mod:`.gcs`), so nothing of an
unfinished upload is visible to reads, stat or listings. ``writer(path, append=True)`` in any
process reads the placeholder back and carries on where the session stopped.
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import TYPE_CHECKING, Any

import requests

from distribution_storage.driver.contract import FileWriter
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.drivers.gcs_parameters import MIN_CHUNK_SIZE

if TYPE_CHECKING:
    from distribution_storage.drivers.gcs import GCSDriver

SESSION_CONTENT_TYPE = "application/x-docker-upload-session"
SESSION_URI_KEY = "Session-URI"
OFFSET_KEY = "Offset"
_RETRYABLE = {408, 429, 500, 502, 503, 504}


class GCSUploadSession:
    """The wire protocol of one resumable upload session, with retries that never duplicate.

    After an ambiguous failure the session is asked how much it holds (``bytes */*``) and
    the send resumes from there, so a retried chunk is never appended twice.
    """

    def __init__(self, http: requests.Session, uri: str, *, retry_timeout: float) -> None:
        self.uri = uri
        self._http = http
        self._retry_timeout = retry_timeout

    def send(self, data: bytes, start: int, *, total: int | None) -> int:
        """Send ``data`` at offset ``start``; returns the offset the session acknowledged.

        With ``total`` the upload is finalised at that size.
        """
        deadline = time.monotonic() + self._retry_timeout
        attempt = 0
        end = start + len(data)
        acked = start
        while True:
            chunk = data[acked - start :]
            size = "*" if total is None else str(total)
            span = f"bytes {acked}-{end - 1}/{size}" if len(chunk) else f"bytes */{size}"
            try:
                response = self._http.put(
                    self.uri, data=chunk, headers={"Content-Range": span}, timeout=120
                )
            except requests.RequestException as exc:
                attempt = _backoff(attempt, deadline, exc)
                acked = max(acked, self._query(deadline))
                continue
            if response.status_code in (200, 201):
                return end
            if response.status_code == 308:
                before, acked = acked, max(acked, _acknowledged(response))
                if acked >= end and total is None:
                    return acked
                if acked == before:  # nothing taken: back off rather than spin
                    attempt = _backoff(attempt, deadline, None)
                continue
            if response.status_code in _RETRYABLE:
                attempt = _backoff(attempt, deadline, None)
                acked = max(acked, self._query(deadline))
                continue
            raise StorageDriverError(
                f"upload session rejected a chunk at offset {acked}: HTTP {response.status_code}"
            )

    def _query(self, deadline: float) -> int:
        attempt = 0
        while True:
            try:
                response = self._http.put(
                    self.uri, data=b"", headers={"Content-Range": "bytes */*"}, timeout=60
                )
            except requests.RequestException as exc:
                attempt = _backoff(attempt, deadline, exc)
                continue
            if response.status_code == 308:
                return _acknowledged(response)
            if response.status_code in _RETRYABLE:
                attempt = _backoff(attempt, deadline, None)
                continue
            raise StorageDriverError(f"upload session status query: HTTP {response.status_code}")

    def abort(self) -> None:
        """Cancel the session; an already expired or finished one is fine."""
        with contextlib.suppress(requests.RequestException):
            self._http.delete(self.uri, timeout=30)


def _acknowledged(response: requests.Response) -> int:
    header = response.headers.get("Range", "")
    if not header.startswith("bytes="):
        return 0
    return int(header.split("-", 1)[1]) + 1


def _backoff(attempt: int, deadline: float, exc: Exception | None) -> int:
    delay = min(0.1 * 2**attempt, 5.0) * (0.5 + random.random())
    if time.monotonic() + delay > deadline:
        what = type(exc).__name__ if exc else "server errors"
        raise StorageDriverError(f"upload session unreachable ({what}), retries exhausted")
    time.sleep(delay)
    return attempt + 1


class GCSWriter(FileWriter):
    """A resumable writer over one GCS upload session (see the module docstring)."""

    def __init__(
        self,
        driver: GCSDriver,
        path: str,
        *,
        session_uri: str | None = None,
        offset: int = 0,
        tail: bytes = b"",
        resumed: bool = False,
    ) -> None:
        super().__init__(path)
        self._driver = driver
        self._session = driver.upload_session(session_uri) if session_uri else None
        self._offset = offset
        self._buffer = bytearray(tail)
        self._resumed = resumed

    @property
    def size(self) -> int:
        return self._offset + len(self._buffer)

    def _ensure_session(self) -> GCSUploadSession:
        if self._session is None:
            self._session = self._driver.start_upload_session(self.path)
        return self._session

    def _flush(self, amount: int) -> None:
        if amount <= 0:
            return
        session = self._ensure_session()
        acked = session.send(bytes(self._buffer[:amount]), self._offset, total=None)
        del self._buffer[: acked - self._offset]
        self._offset = acked

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        chunk = self._driver.parameters.chunksize
        while len(self._buffer) >= chunk:
            self._flush(chunk)

    def _close(self) -> None:
        self._flush(len(self._buffer) // MIN_CHUNK_SIZE * MIN_CHUNK_SIZE)
        metadata: dict[str, Any] = {
            SESSION_URI_KEY: self._session.uri if self._session else "",
            OFFSET_KEY: str(self._offset),
        }
        self._driver.store_placeholder(self.path, bytes(self._buffer), metadata)

    def _commit(self) -> None:
        if self._session is None:
            self._driver.put_content(self.path, bytes(self._buffer))
        else:
            self._session.send(bytes(self._buffer), self._offset, total=self.size)
        self._offset += len(self._buffer)
        self._buffer.clear()
        self._driver.drop_placeholder(self.path)

    def _cancel(self) -> None:
        if self._session is not None:
            self._session.abort()
        self._buffer.clear()
        self._driver.drop_placeholder(self.path, with_object=self._resumed)


def placeholder_state(metadata: dict[str, Any] | None) -> tuple[str | None, int]:
    """The session URI and acknowledged offset stored in a placeholder's metadata."""
    metadata = metadata or {}
    uri = metadata.get(SESSION_URI_KEY) or None
    try:
        offset = int(metadata.get(OFFSET_KEY, "0"))
    except ValueError:
        raise StorageDriverError("corrupt upload-session placeholder (bad Offset)") from None
    return uri, offset

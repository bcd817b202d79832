"""The ``swift`` driver's resumable writer: segments, an upload record, an SLO manifest.

A writer buffers up to ``chunksize`` bytes and uploads each full chunk as a segment object
under ``<prefix>/segments/<upload id>/<number>``. The upload record, a small JSON object at
``<prefix>/uploads/<path>`` (outside the ``files/`` tree, so listings and stat never see it),
names the upload id and lists every segment with its ETag and size: ``close`` uploads the
buffered tail as a segment and rewrites the record, so a writer opened with ``append=True`` in
another process finds exactly the segments written before. ``commit`` puts a Static Large
Object manifest at the path (or a plain object when everything fitted in one buffer) and
removes the record; ``cancel`` deletes the segments and the record.

Two writers may resume one upload, and once one commits, the object (and, moved, a blob)
is made of the segments they share. So each writer names its new segments with a tag of its
own (it never overwrites another's), and before it stores a segment, the record or a
manifest, a resumed writer checks that the record still names its upload: once another
writer committed or cancelled it, it raises :class:`PathNotFoundError`, and its ``cancel``
deletes only the segments it wrote itself.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distribution_storage.driver.contract import FileWriter
from distribution_storage.driver.errors import PathNotFoundError

if TYPE_CHECKING:
    from distribution_storage.drivers.swift_store import SwiftStore


@dataclass
class Segment:
    """One uploaded segment: its object name, ETag and size."""

    name: str
    etag: str
    size: int


UPLOAD_ID_LENGTH = 32
"""Characters of an upload id (a UUID's hex), the first component of its segments' names."""


@dataclass
class UploadRecord:
    """What a resumed writer needs: the upload id and the segments written so far."""

    upload_id: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Bytes held by the segments."""
        return sum(s.size for s in self.segments)

    def to_json(self) -> bytes:
        """The record as stored in Swift."""
        body = {
            "upload_id": self.upload_id,
            "segments": [[s.name, s.etag, s.size] for s in self.segments],
        }
        return json.dumps(body).encode()

    @classmethod
    def from_json(cls, data: bytes) -> UploadRecord:
        """Parse a stored record."""
        body: dict[str, Any] = json.loads(data)
        segments = [Segment(str(n), str(e), int(s)) for n, e, s in body["segments"]]
        return cls(str(body["upload_id"]), segments)

    @classmethod
    def new(cls) -> UploadRecord:
        """A record for a fresh upload."""
        return cls(uuid.uuid4().hex)


class SwiftWriter(FileWriter):
    """Writes one path as segments; see the module docstring for the protocol."""

    def __init__(self, store: SwiftStore, path: str, record: UploadRecord, *, stored: bool):
        super().__init__(path)
        self._store = store
        self._record = record
        self._stored = stored  # the record exists in Swift
        self._buffer = bytearray()
        self._tag = uuid.uuid4().hex[:12]
        self._own: list[str] = []  # the segments this writer stored

    def _check_record(self) -> None:
        """Raise PathNotFoundError unless the stored record still names this upload."""
        if not self._stored:
            return
        current = self._store.load_record(self.path)
        if current is None or current.upload_id != self._record.upload_id:
            raise PathNotFoundError(self.path)

    @property
    def size(self) -> int:
        """Bytes written, including the resumed segments."""
        return self._record.size + len(self._buffer)

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        chunk = self._store.chunk_size
        while len(self._buffer) >= chunk:
            self._flush(bytes(self._buffer[:chunk]))
            del self._buffer[:chunk]

    def _flush(self, data: bytes) -> None:
        if not self._stored:
            # Make the upload discoverable (abort_pending_uploads) before it costs space.
            self._store.save_record(self.path, self._record)
            self._stored = True
        else:
            self._check_record()
        number = len(self._record.segments)
        name = self._store.segment_key(self._record.upload_id, number, self._tag)
        self._own.append(name)
        etag = self._store.put_segment(name, data)
        self._record.segments.append(Segment(name, etag, len(data)))

    def _close(self) -> None:
        if self._buffer:
            self._flush(bytes(self._buffer))
            self._buffer.clear()
        else:
            self._check_record()
        self._store.save_record(self.path, self._record)
        self._stored = True

    def _commit(self) -> None:
        self._check_record()
        if not self._record.segments:
            self._store.put_file(self.path, bytes(self._buffer))
        else:
            if self._buffer:
                self._flush(bytes(self._buffer))
            self._buffer.clear()
            self._store.put_manifest(self.path, self._record.segments)
        if self._stored:
            self._store.delete_record(self.path)

    def _cancel(self) -> None:
        self._buffer.clear()
        try:
            self._check_record()
        except PathNotFoundError:
            # Committed or cancelled by another writer: the earlier segments are not ours.
            self._store.delete_keys(self._own)
            return
        self._store.discard_upload(self.path, self._record)

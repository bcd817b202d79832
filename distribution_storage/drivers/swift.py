"""The ``swift`` driver: OpenStack Swift through python-swiftclient.

Files live in one container as objects named ``<prefix>/files<path>`` (the layout of
distribution's former swift driver); large files are Static Large Objects whose segments live
under ``<prefix>/segments/`` and whose pending uploads are recorded under ``<prefix>/uploads/``
(see :mod:`distribution_storage.drivers.swift_writer`). ``list`` is a prefix and delimiter
listing, ``stat`` a HEAD or a one-entry listing, ``delete`` and ``move`` take the segments
along, ``copy`` (and ``copy_from`` another container of the same account, for migration) is a
server-side COPY (of each segment, for an SLO), deletions go through the bulk middleware
when the cluster's ``/info`` offers it, and ``redirect_url`` signs a TempURL when a key is
configured. Each thread gets its own connection; all share one token.
"""

from __future__ import annotations

import builtins
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, Self
from urllib.parse import quote, urlsplit

from swiftclient import ClientException
from swiftclient.utils import generate_temp_url

from distribution_storage.driver.contract import (
    Capability,
    FileInfo,
    FileWriter,
    StorageDriver,
)
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.paths import ROOT
from distribution_storage.driver.streams import ReadableStream
from distribution_storage.drivers.swift_parameters import SwiftParameters, parse_parameters
from distribution_storage.drivers.swift_store import SwiftStore, is_slo, status
from distribution_storage.drivers.swift_writer import Segment, SwiftWriter, UploadRecord

REDIRECT_SECONDS = 20 * 60
READ_CHUNK = 256 * 1024


class SwiftDriver(StorageDriver):
    """Storage in an OpenStack Swift container; see the module docstring."""

    name = "swift"

    def __init__(self, params: SwiftParameters) -> None:
        self.store = SwiftStore(params)

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> Self:
        """Build the driver from ``storage.swift`` parameters; authenticates right away."""
        return cls(parse_parameters(parameters))

    @property
    def secrets(self) -> tuple[str, ...]:
        """The password, the TempURL key and the token, scrubbed from errors."""
        params = self.store.params
        token = getattr(self.store.main, "token", None) or ""
        values = (params.password, params.secretkey, self.store.tempurl_key, token)
        return tuple(s for s in values if s)

    @property
    def capabilities(self) -> frozenset[Capability]:  # type: ignore[override]
        """REDIRECT only with a TempURL key; BATCH_DELETE only with the bulk middleware."""
        caps = {Capability.SERVER_SIDE_COPY, Capability.PENDING_UPLOADS}
        if self.store.tempurl_key:
            caps.add(Capability.REDIRECT)
        if self.store.bulk_limit:
            caps.add(Capability.BATCH_DELETE)
        return frozenset(caps)

    # -- the verbs ------------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        """The whole object at ``path``."""
        try:
            _, body = self.store.conn.get_object(self.store.container, self.store.files_key(path))
        except ClientException as exc:
            if status(exc) == 404:
                raise PathNotFoundError(path) from None
            raise self.store.error("get", path, exc) from None
        return bytes(body)

    def put_content(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path`` as one object (dropping the segments it replaces)."""
        self.store.put_file(path, bytes(data))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """A stream from ``offset`` (a ranged GET; past the end, an empty stream)."""
        headers = {"Range": f"bytes={offset}-"} if offset else None
        try:
            _, body = self.store.conn.get_object(
                self.store.container,
                self.store.files_key(path),
                resp_chunk_size=READ_CHUNK,
                headers=headers,
            )
        except ClientException as exc:
            if status(exc) == 404:
                raise PathNotFoundError(path) from None
            if status(exc) == 416:
                return io.BytesIO()
            raise self.store.error("read", path, exc) from None
        return io.BufferedReader(ReadableStream(body), READ_CHUNK)

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        """A segment writer; with ``append``, resumes the recorded upload of ``path``."""
        record = self.store.load_record(path)
        if append:
            if record is not None:
                return SwiftWriter(self.store, path, record, stored=True)
            return SwiftWriter(self.store, path, self._adopt(path), stored=False)
        if record is not None:  # an abandoned upload of this path is replaced
            self.store.discard_upload(path, record)
        return SwiftWriter(self.store, path, UploadRecord.new(), stored=False)

    def _adopt(self, path: str) -> UploadRecord:
        """Start an upload that continues the committed object at ``path``."""
        key = self.store.files_key(path)
        if self.stat(path).size == 0:
            return UploadRecord.new()
        return self._copy_segments(self.store, self.store.slo_segments(key) or [key])

    def _copy_segments(self, source: SwiftStore, names: builtins.list[str]) -> UploadRecord:
        """A new upload whose segments are server-side copies of the objects ``names`` of
        ``source``'s container (the data segments of an SLO, or one plain object)."""
        record = UploadRecord.new()
        data = [n for n in names if not source.is_sub_manifest(n)]
        for number, name in enumerate(data):
            segment = self.store.segment_key(record.upload_id, number)
            self.store.server_copy(name, segment, from_container=source.container)
            headers = self.store.conn.head_object(self.store.container, segment)
            etag = headers["etag"].strip('"')
            record.segments.append(Segment(segment, etag, int(headers["content-length"])))
        return record

    def stat(self, path: str) -> FileInfo:
        """A HEAD of the object, else a one-entry listing to detect a directory."""
        key = self.store.files_key(path)
        if path != ROOT:
            headers = self.store.head(key)
            if headers is not None:
                stamp = float(headers.get("x-timestamp", "0"))
                size = int(headers.get("content-length", "0"))
                return FileInfo(path, size, datetime.fromtimestamp(stamp, UTC), False)
        entries = self.store.listing(key + "/", delimiter=False, limit=1)
        if not entries:
            if path == ROOT:
                return FileInfo(path, 0, datetime.now(UTC), True)
            raise PathNotFoundError(path)
        stamp_text = entries[0].get("last_modified", "")
        mod_time = (
            datetime.fromisoformat(stamp_text).replace(tzinfo=UTC)
            if stamp_text
            else datetime.now(UTC)
        )
        return FileInfo(path, 0, mod_time, True)

    def list_infos(self, path: str) -> builtins.list[FileInfo]:
        """Direct children with sizes and times, from one delimiter listing."""
        prefix = self.store.files_key(path) + "/"
        children: dict[str, FileInfo] = {}
        now = datetime.now(UTC)
        for entry in self.store.listing(prefix, delimiter=True):
            if "subdir" in entry:
                child = self.store.path_of(entry["subdir"].rstrip("/"))
                children[child] = FileInfo(child, 0, now, True)
            else:
                child = self.store.path_of(entry["name"])
                stamp = datetime.fromisoformat(entry["last_modified"]).replace(tzinfo=UTC)
                children.setdefault(child, FileInfo(child, int(entry["bytes"]), stamp, False))
        if not children and path != ROOT:
            raise PathNotFoundError(path)
        return list(children.values())

    def list(self, path: str) -> builtins.list[str]:
        """The direct children of ``path``: a prefix and delimiter listing."""
        return sorted(info.path for info in self.list_infos(path))

    def move(self, source: str, dest: str) -> None:
        """Copy ``source`` to ``dest`` (a large object by its manifest), then delete ``source``."""
        src_key = self.store.files_key(source)
        head = self.store.head(src_key)
        if head is None:
            raise PathNotFoundError(source)
        if source == dest:
            return
        segments = self.store.owned_segments(src_key, head)
        if segments is not None and is_slo(head):
            moved = self.store.manifest_entries(src_key)
            self.store.replace(
                dest, lambda key: self.store.put_slo(key, moved), keep=self._as_segments(segments)
            )
        elif segments is not None:  # a legacy DLO: its manifest moves, its segments stay
            manifest = head["x-object-manifest"]
            keep = self._as_segments(segments)
            self.store.replace(dest, lambda key: self.store.put_dlo(key, manifest), keep=keep)
        else:
            self.store.replace(dest, lambda key: self.store.server_copy(src_key, key))
        try:
            self.store.conn.delete_object(self.store.container, src_key)
        except ClientException as exc:
            if status(exc) != 404:
                raise self.store.error("delete", source, exc) from None

    @staticmethod
    def _as_segments(names: builtins.list[str]) -> builtins.list[Segment]:
        return [Segment(n, "", 0) for n in names]

    def copy(self, source: str, dest: str) -> None:
        """Server-side copy; an SLO gets copies of its segments under a new upload."""
        src_key = self.store.files_key(source)
        if self.store.head(src_key) is None:
            raise PathNotFoundError(source)
        if source != dest:
            self._copy_object(self.store, src_key, dest)

    def copy_from(self, source: StorageDriver, source_path: str, dest_path: str) -> bool:
        """Copy from another Swift driver of the same account, from its container, inside
        Swift (as ``copy`` does within one container).

        Used by migration between containers (or prefixes); False, so the caller streams,
        when ``source`` is another service, account or user.
        """
        if not isinstance(source, SwiftDriver) or not self.store.same_account(source.store):
            return False
        src_key = source.store.files_key(source_path)
        if source.store.head(src_key) is None:
            raise PathNotFoundError(source_path)
        self._copy_object(source.store, src_key, dest_path)
        return True

    def _copy_object(self, source: SwiftStore, key: str, dest: str) -> None:
        """Copy object ``key`` of ``source``'s container to ``dest``: one COPY, or for an
        SLO copies of its segments under a new manifest (each copy owns its segments)."""
        segments = source.slo_segments(key)
        if segments is None:
            server_copy = self.store.server_copy
            self.store.replace(dest, lambda k: server_copy(key, k, from_container=source.container))
            return
        record = self._copy_segments(source, segments)
        self.store.put_manifest(dest, record.segments)

    def _collect(self, path: str) -> tuple[builtins.list[str], builtins.list[str]] | None:
        """Objects (and SLO segments) to delete for ``path``; None when nothing is there."""
        key = self.store.files_key(path)
        objects: builtins.list[str] = []
        segments: builtins.list[str] = []
        for entry in self.store.listing(key + "/", delimiter=False):
            objects.append(entry["name"])
            if entry.get("slo_etag"):
                segments.extend(self.store.slo_segments(entry["name"], known_slo=True) or [])
            elif entry.get("bytes") == 0:  # perhaps a legacy DLO's manifest: its headers say
                segments.extend(self.store.owned_segments(entry["name"]) or [])
        head = self.store.head(key)
        if head is not None:
            objects.append(key)
            segments.extend(self.store.owned_segments(key, head) or [])
        if not objects:
            return None
        return objects, segments

    def delete(self, path: str) -> None:
        """Delete ``path`` and everything below, with their segments and pending uploads."""
        found = self._collect(path)
        if found is None:
            raise PathNotFoundError(path)
        objects, segments = found
        self.store.delete_keys(objects)
        self.store.delete_keys(segments)
        self._abort_uploads(path, older_than=None)

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete many paths with as few bulk requests as possible; returns the missing ones."""
        missing: builtins.list[str] = []
        objects: builtins.list[str] = []
        segments: builtins.list[str] = []
        for path in paths:
            found = self._collect(path)
            if found is None:
                missing.append(path)
                continue
            objects.extend(found[0])
            segments.extend(found[1])
        self.store.delete_keys(objects)
        self.store.delete_keys(segments)
        return missing

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        """Delete these files (with the segments of large objects) in bulk; a legacy DLO's
        segments are the one listing."""
        missing: list[str] = []
        objects: list[str] = []
        segments: list[str] = []
        for path in paths:
            key = self.store.files_key(path)
            head = self.store.head(key)
            if head is None:
                missing.append(path)
                continue
            objects.append(key)
            segments.extend(self.store.owned_segments(key, head) or [])
        self.store.delete_keys(objects)
        self.store.delete_keys(segments)
        return missing

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        """A TempURL valid 20 minutes, when a key is configured and the method allowed."""
        if not self.store.tempurl_key or method.upper() not in self.store.params.tempurlmethods:
            return None
        parts = urlsplit(self.store.main.url)
        object_path = f"{parts.path}/{self.store.container}/{quote(self.store.files_key(path))}"
        signed = str(
            generate_temp_url(object_path, REDIRECT_SECONDS, self.store.tempurl_key, method.upper())
        )
        if self.store.params.accesskey:  # HP Cloud wanted tenant:accesskey:signature
            tenant = self.store.params.tenantid or self.store.params.tenant
            signed = signed.replace(
                "temp_url_sig=", f"temp_url_sig={tenant}:{self.store.params.accesskey}:"
            )
        return f"{parts.scheme}://{parts.netloc}{signed}"

    def _abort_uploads(self, path: str, *, older_than: datetime | None) -> int:
        record_key = self.store.record_key(path).rstrip("/")
        entries = [  # one listing: the record of path itself and those below it
            e
            for e in self.store.listing(record_key, delimiter=False)
            if path == ROOT or e["name"] == record_key or e["name"].startswith(record_key + "/")
        ]
        aborted = 0
        for entry in entries:
            if older_than is not None:
                started = datetime.fromisoformat(entry["last_modified"]).replace(tzinfo=UTC)
                if started >= older_than:
                    continue
            upload_path = entry["name"][len(self.store.base) + len("uploads") :]
            record = self.store.load_record(upload_path)
            if record is not None:
                self.store.discard_upload(upload_path, record)
            else:
                self.store.delete_keys([entry["name"]])
            aborted += 1
        return aborted

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        """Abort recorded uploads below ``path`` started before ``older_than``."""
        return self._abort_uploads(path, older_than=older_than)

    def walk_keys(self) -> Iterator[str]:
        """Every object name the driver stores in its container (files, segments, records)."""
        for entry in self.store.listing(self.store.base, delimiter=False):
            yield entry["name"]

    def close(self) -> None:
        """Drop the connections."""
        self.store.close()

    def __repr__(self) -> str:
        store = self.store
        return f"SwiftDriver(container={store.container!r}, authurl={store.params.authurl!r})"

"""The object-level half of the ``swift`` driver: connections, names, segments, manifests.

:class:`SwiftStore` owns the swiftclient connections (one per thread, sharing one token), the
object naming scheme (``<prefix>/files<path>``, ``<prefix>/segments/<upload>/<n>``,
``<prefix>/uploads<path>``), and the operations the driver and its writer build on: segment
uploads, upload records, Static Large Object manifests (nested past 1,000 segments), the
replacement of an object that drops the segments of the SLO it replaced, and deletion through
the bulk middleware when the cluster's ``/info`` offers it; server-side copies also from
another container of the same account (:meth:`SwiftStore.same_account`). The Dynamic Large
Objects of distribution's former driver are read through Swift and deleted, replaced or
moved with their segments (:meth:`SwiftStore.owned_segments`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote

from swiftclient import ClientException, Connection

from distribution_storage.driver.accounts import same_account
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.driver.paths import ROOT
from distribution_storage.drivers.swift_parameters import (
    SwiftParameters,
    connection_options,
    trust_scoped_token,
)
from distribution_storage.drivers.swift_writer import UPLOAD_ID_LENGTH, Segment, UploadRecord

MAX_MANIFEST_SEGMENTS = 1000
ACCOUNT_PARAMETERS = (
    "authurl",
    "username",
    "domain",
    "domainid",
    "tenant",
    "tenantid",
    "tenantdomain",
    "tenantdomainid",
    "trustid",
)
"""The parameters naming who a store's user is; with the storage URL, its account."""


def is_slo(headers: dict[str, str]) -> bool:
    """Tell whether an object's headers are a Static Large Object's manifest's."""
    return headers.get("x-static-large-object", "").lower() == "true"


def status(exc: ClientException) -> int:
    """The HTTP status of a swiftclient error (0 when there was no response)."""
    return int(getattr(exc, "http_status", 0) or 0)


class SwiftStore:
    """One container of a Swift cluster, as the driver uses it; authenticates on creation."""

    def __init__(self, params: SwiftParameters) -> None:
        self.params = params
        self.container = params.container
        self.chunk_size = params.chunksize
        self._local = threading.local()
        self._opened: list[Any] = []  # every thread's connection, closed with the store
        self._opened_lock = threading.Lock()
        self.base = f"{params.prefix}/" if params.prefix else ""
        self.main = self._connect(None, None)
        self._authenticate()
        self.info = self._cluster_info()
        bulk = self.info.get("bulk_delete", {})
        self.bulk_limit = int(bulk.get("max_deletes_per_request", 0))
        self._ensure_container()
        self.tempurl_key = self._setup_tempurl_key()

    def _connect(self, url: str | None, token: str | None) -> Any:
        options = connection_options(self.params)
        return Connection(preauthurl=url, preauthtoken=token, **options)

    def _authenticate(self) -> None:
        try:
            if self.params.trustid:
                url, token = trust_scoped_token(self.params)
                self.main = self._connect(url, token)
            else:
                self.main.get_auth()
        except ClientException as exc:
            raise StorageDriverError(
                f"cannot authenticate as {self.params.username!r} at {self.params.authurl}: "
                f"{status(exc) or exc.msg}"
            ) from None
        except Exception as exc:
            raise StorageDriverError(
                f"cannot reach {self.params.authurl}: {type(exc).__name__}"
            ) from exc

    @property
    def conn(self) -> Any:
        """This thread's connection (sharing the token of the main one)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(self.main.url, self.main.token)
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def _cluster_info(self) -> dict[str, Any]:
        try:
            info: dict[str, Any] = self.main.get_capabilities()
        except ClientException:
            return {}  # /info disabled: assume SLO, no bulk
        if info and "slo" not in info:
            raise StorageDriverError("the Swift cluster lacks the static large object middleware")
        return info

    def _ensure_container(self) -> None:
        try:
            self.main.head_container(self.container)
        except ClientException as exc:
            if status(exc) != 404:
                raise self.error("container", self.container, exc) from None
            self.main.put_container(self.container)

    def _setup_tempurl_key(self) -> str:
        header = (
            "x-container-meta-temp-url-key"
            if self.params.tempurlcontainerkey
            else ("x-account-meta-temp-url-key")
        )
        if self.params.tempurlcontainerkey:
            current = self.main.head_container(self.container).get(header, "")
        else:
            current = self.main.head_account().get(header, "")
        wanted = self.params.secretkey or current
        if wanted and wanted != current:
            if self.params.tempurlcontainerkey:
                self.main.post_container(self.container, {header: wanted})
            else:
                self.main.post_account({header: wanted})
        return str(wanted)

    def same_account(self, other: SwiftStore) -> bool:
        """Whether ``other`` is the same user of the same account (auth URL, user, tenant,
        storage URL), so this store's token may copy from ``other``'s container."""
        return (
            same_account(self.params, other.params, ACCOUNT_PARAMETERS)
            and self.main.url == other.main.url
        )

    def error(self, operation: str, path: str, exc: ClientException) -> StorageDriverError:
        """A driver error for a failed request, without credentials."""
        code = status(exc)
        if code == 401:
            return StorageDriverError(f"{operation} {path}: not authorized (401)")
        detail = f"{code} {getattr(exc, 'http_reason', '')}".strip() if code else exc.msg
        return StorageDriverError(f"{operation} {path}: {detail}")

    # -- object names ---------------------------------------------------------------------

    def files_key(self, path: str) -> str:
        """The object name of ``path`` (``files`` alone for the root)."""
        return f"{self.base}files" + ("" if path == ROOT else path)

    def path_of(self, key: str) -> str:
        """The path of a ``files`` object name."""
        return key[len(self.base) + len("files") :]

    def segment_key(self, upload_id: str, number: int, writer: str = "") -> str:
        """The object name of segment ``number`` of upload ``upload_id``, as written by the
        writer tagged ``writer`` (two writers resuming one upload never share a name)."""
        return f"{self.base}segments/{upload_id}/{number:08d}" + (f"-{writer}" if writer else "")

    def record_key(self, path: str) -> str:
        """The object name of the upload record of ``path``."""
        return f"{self.base}uploads{path}"

    # -- low-level operations used by the writer --------------------------------------------

    def put_segment(self, name: str, data: bytes) -> str:
        """Upload one segment; returns its ETag."""
        try:
            return str(self.conn.put_object(self.container, name, data))
        except ClientException as exc:
            raise self.error("put segment", name, exc) from None

    def save_record(self, path: str, record: UploadRecord) -> None:
        """Store the upload record of ``path``."""
        self.conn.put_object(self.container, self.record_key(path), record.to_json())

    def load_record(self, path: str) -> UploadRecord | None:
        """The upload record of ``path``, or None."""
        try:
            _, body = self.conn.get_object(self.container, self.record_key(path))
        except ClientException as exc:
            if status(exc) == 404:
                return None
            raise self.error("read upload record", path, exc) from None
        return UploadRecord.from_json(body)

    def discard_upload(self, path: str, record: UploadRecord) -> None:
        """Delete every segment of ``record``'s upload (listed or not) and the record."""
        prefix = f"{self.base}segments/{record.upload_id}/"
        names = {s.name for s in record.segments}
        names.update(e["name"] for e in self.listing(prefix, delimiter=False))
        self.delete_keys(sorted(names))
        self.delete_record(path)

    def delete_record(self, path: str) -> None:
        """Remove the upload record of ``path`` (missing is fine)."""
        self.delete_keys([self.record_key(path)])

    def put_manifest(self, path: str, segments: list[Segment]) -> None:
        """Make ``path`` a Static Large Object over ``segments``."""
        entries: list[dict[str, Any]] = [
            {"path": f"/{self.container}/{s.name}", "etag": s.etag, "size_bytes": s.size}
            for s in segments
        ]
        if len(entries) > MAX_MANIFEST_SEGMENTS:
            entries = self._nest(path, entries)
        self.replace(path, lambda key: self.put_slo(key, entries), keep=segments)

    def _nest(self, path: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Past the cluster's per-manifest limit, group segments into sub-manifests.
        upload = entries[0]["path"].rsplit("/", 2)[-2]
        nested = []
        for start in range(0, len(entries), MAX_MANIFEST_SEGMENTS):
            group = entries[start : start + MAX_MANIFEST_SEGMENTS]
            name = f"{self.base}segments/{upload}/manifest-{start:08d}"
            self.put_slo(name, group)
            nested.append({"path": f"/{self.container}/{name}"})
        return nested

    def put_slo(self, key: str, entries: list[dict[str, Any]]) -> None:
        """PUT an SLO manifest at ``key``; missing segments become a clear error."""
        try:
            self.conn.put_object(
                self.container,
                key,
                json.dumps(entries),
                query_string="multipart-manifest=put",
            )
        except ClientException as exc:
            if status(exc) == 400:
                raise StorageDriverError(
                    f"cannot assemble {self.path_of(key)}: segments are missing or changed "
                    f"({(exc.http_response_content or b'')[:300]!r})"
                ) from None
            raise self.error("put manifest", key, exc) from None

    def put_dlo(self, key: str, manifest: str) -> None:
        """PUT a Dynamic Large Object manifest at ``key``: an empty object whose
        ``X-Object-Manifest`` (``<container>/<prefix>``, as read from another) is ``manifest``."""
        try:
            self.conn.put_object(self.container, key, b"", headers={"X-Object-Manifest": manifest})
        except ClientException as exc:
            raise self.error("put manifest", key, exc) from None

    def owned_segments(self, key: str, headers: dict[str, str] | None = None) -> list[str] | None:
        """The segments that make up the object at ``key`` and go with it: an SLO's (nested
        manifests included) or a legacy DLO's (:meth:`dlo_segments`); None for a plain or
        missing object. ``headers``: the object's, when the caller has them already."""
        headers = self.head(key) if headers is None else headers
        if headers is None:
            return None
        if is_slo(headers):
            return self.slo_segments(key, known_slo=True)
        return self.dlo_segments(headers)

    def dlo_segments(self, headers: dict[str, str]) -> list[str] | None:
        """The segments of a Dynamic Large Object, as distribution's former swift driver
        wrote them: every object under its ``X-Object-Manifest`` prefix, provided that
        prefix is one upload's directory under this store's ``segments/`` (``<x>/<y>``, and
        ``<x>`` is not one of this driver's 32-digit upload ids). A manifest that names
        another container or a wider prefix owns nothing here; None if not a DLO."""
        manifest = headers.get("x-object-manifest")
        if not manifest:
            return None
        container, _, prefix = unquote(manifest).partition("/")
        root = f"{self.base}segments/"
        if container != self.container or not prefix.startswith(root):
            return []
        upload, _, rest = prefix[len(root) :].partition("/")
        if not upload or not rest.strip("/") or len(upload) == UPLOAD_ID_LENGTH:
            return []
        return [entry["name"] for entry in self.listing(prefix, delimiter=False)]

    def slo_segments(self, key: str, *, known_slo: bool = False) -> list[str] | None:
        """The segment names of the SLO at ``key`` (None if missing or not an SLO)."""
        if not known_slo:
            head = self.head(key)
            if head is None or not is_slo(head):
                return None
        try:
            headers, body = self.conn.get_object(
                self.container, key, query_string="multipart-manifest=get&format=raw"
            )
        except ClientException as exc:
            if status(exc) == 404:
                return None
            raise self.error("read manifest", key, exc) from None
        if not is_slo(headers):
            return None
        names = []
        for entry in json.loads(body):
            name = entry["path"].lstrip("/").split("/", 1)[1]
            if self.is_sub_manifest(name):
                names.extend(self.slo_segments(name, known_slo=True) or [])
            names.append(name)
        return names

    def is_sub_manifest(self, name: str) -> bool:
        """Tell whether ``name`` is a nested manifest this driver made (not a data segment)."""
        return name.startswith(f"{self.base}segments/") and "/manifest-" in name

    def replace(
        self, path: str, put: Callable[[str], None], *, keep: Iterable[Segment] = ()
    ) -> None:
        """Run ``put(key)`` over ``path``; then delete the segments of the large object it
        replaced, but those in ``keep``."""
        key = self.files_key(path)
        old = self.owned_segments(key)
        put(key)
        if old:
            kept = {s.name for s in keep}
            self.delete_keys([n for n in old if n not in kept])

    def delete_keys(self, keys: list[str]) -> None:
        """Delete objects by name, through bulk delete when offered; missing ones are fine."""
        if not keys:
            return
        if self.bulk_limit:
            for start in range(0, len(keys), self.bulk_limit):
                self.bulk_delete(keys[start : start + self.bulk_limit])
            return
        for key in keys:
            try:
                self.conn.delete_object(self.container, key)
            except ClientException as exc:
                if status(exc) != 404:
                    raise self.error("delete", key, exc) from None

    def bulk_delete(self, keys: list[str]) -> None:
        """One bulk-delete request for ``keys``."""
        body = "\n".join(quote(f"/{self.container}/{k}") for k in keys).encode()
        try:
            _, raw = self.conn.post_account(
                {"Content-Type": "text/plain", "Accept": "application/json"},
                query_string="bulk-delete",
                data=body,
            )
        except ClientException as exc:
            raise self.error("bulk delete", keys[0], exc) from None
        result = json.loads(raw)
        errors = result.get("Errors") or []
        if errors:
            raise StorageDriverError(f"bulk delete failed for {len(errors)} objects: {errors[:3]}")

    def server_copy(self, source: str, dest: str, *, from_container: str | None = None) -> None:
        """A server-side COPY of object ``source`` (of this container unless
        ``from_container`` names another of the account) to object ``dest``."""
        try:
            self.conn.copy_object(
                from_container or self.container, source, f"/{self.container}/{dest}"
            )
        except ClientException as exc:
            raise self.error("copy", source, exc) from None

    def head(self, key: str) -> dict[str, str] | None:
        """The headers of object ``key``, or None when it is missing."""
        try:
            headers: dict[str, str] = self.conn.head_object(self.container, key)
        except ClientException as exc:
            if status(exc) == 404:
                return None
            raise self.error("stat", key, exc) from None
        return headers

    def listing(self, prefix: str, *, delimiter: bool, limit: int | None = None) -> list[Any]:
        """Container listing entries under ``prefix`` (all pages unless ``limit``)."""
        try:
            _, entries = self.conn.get_container(
                self.container,
                prefix=prefix,
                delimiter="/" if delimiter else None,
                limit=limit,
                full_listing=limit is None,
            )
        except ClientException as exc:
            raise self.error("list", prefix, exc) from None
        return list(entries)

    def manifest_entries(self, key: str) -> list[dict[str, Any]]:
        """The raw segment entries of the SLO manifest at ``key``."""
        _, body = self.conn.get_object(
            self.container, key, query_string="multipart-manifest=get&format=raw"
        )
        entries: list[dict[str, Any]] = json.loads(body)
        return entries

    def put_file(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path`` as one object, dropping the segments of an SLO it replaces."""

        def put(key: str) -> None:
            try:
                self.conn.put_object(
                    self.container,
                    key,
                    data,
                    content_length=len(data),
                    content_type="application/octet-stream",
                )
            except ClientException as exc:
                raise self.error("put", path, exc) from None

        self.replace(path, put)

    def close(self) -> None:
        """Close every connection the store opened."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in [self.main, *opened]:
            conn.close()

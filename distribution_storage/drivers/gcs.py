"""The ``gcs`` driver: Google Cloud Storage through ``google-cloud-storage``.

Object keys are ``rootdirectory`` + the path without its leading ``/``; directories are implied
by keys. ``list`` uses prefix + delimiter listings, ``walk`` and ``delete`` one flat listing of
the subtree (``walk`` streams it in walk order, :mod:`distribution_storage.driver.flat_walk`;
with ``prune`` it takes one delimiter listing per directory entered, see
:mod:`distribution_storage.driver.walking`), ``move`` and ``copy`` a server-side rewrite, as
``copy_from`` another gcs driver on the same endpoint with the same credentials (migration),
``delete`` a batch request where the service takes one (emulators often do not: the driver then
deletes object by object, in parallel). Unfinished uploads are resumable upload sessions whose
state is kept in placeholder objects under the hidden namespace ``_upload-sessions~`` of the
root (``~`` cannot occur in a path, so no path can collide with it and listings leave it out);
see :mod:`.gcs_writer`. Placeholders distribution (Go) leaves at the path itself are hidden
from reads and listings too, and resumable. ``redirect_url`` is a V4 signed URL when a service-
account key is configured. Calls are retried with backoff on 429, 5xx and connection errors.
The client and credentials come from :mod:`.gcs_client`.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, Self

import requests
from google.api_core import exceptions as gexc
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from distribution_storage.driver.accounts import same_account
from distribution_storage.driver.contract import (
    Capability,
    FileInfo,
    FileWriter,
    StorageDriver,
    WalkPrune,
    collect_subtrees,
)
from distribution_storage.driver.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageDriverError,
)
from distribution_storage.driver.flat_walk import ListedKey, walk_order
from distribution_storage.driver.paths import ROOT, is_under, join, walk_key
from distribution_storage.driver.walking import walk_listing
from distribution_storage.drivers.gcs_client import connect
from distribution_storage.drivers.gcs_parameters import GCSParameters
from distribution_storage.drivers.gcs_writer import (
    SESSION_CONTENT_TYPE,
    GCSUploadSession,
    GCSWriter,
    placeholder_state,
)

SESSIONS = "_upload-sessions~"
"""The hidden namespace (under the root) holding upload-session placeholders."""
LIST_PAGE_SIZE = 1000
"""Objects per listing page: the service's maximum."""
REDIRECT_TTL = timedelta(minutes=20)
_BATCH_LIMIT = 100
_CAPABILITIES = frozenset(
    {
        Capability.BATCH_DELETE,
        Capability.SERVER_SIDE_COPY,
        Capability.FLAT_WALK,
        Capability.PENDING_UPLOADS,
    }
)
_Keys = list[str]
_Infos = list[FileInfo]
_Pairs = list[tuple[str, str]]


class GCSDriver(StorageDriver):
    """Google Cloud Storage driver (distribution's ``gcs``)."""

    name = "gcs"

    def __init__(self, parameters: GCSParameters, *, retry_timeout: float = 60.0) -> None:
        self.parameters = parameters
        self._prefix = f"{parameters.rootdirectory}/" if parameters.rootdirectory else ""
        self._retry = DEFAULT_RETRY.with_delay(initial=0.2, maximum=32.0).with_timeout(
            retry_timeout
        )
        self._retry_timeout = retry_timeout
        self._batch_supported = True
        self.list_page_size = LIST_PAGE_SIZE
        """Objects per listing page (tests lower it)."""
        connection = connect(parameters)
        self._client = connection.client
        self._endpoint = connection.endpoint
        self._signer = connection.signer
        self._sessions_http = connection.sessions_http
        self._bucket = self._client.bucket(parameters.bucket)
        self._check_bucket()

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> Self:
        """Build the driver from distribution's gcs parameters."""
        return cls(GCSParameters.from_mapping(parameters))

    @property
    def capabilities(self) -> frozenset[Capability]:  # type: ignore[override]
        """Redirects only when a service-account key can sign URLs."""
        if self._signer is None:
            return _CAPABILITIES
        return _CAPABILITIES | {Capability.REDIRECT}

    @property
    def secrets(self) -> tuple[str, ...]:
        key = self.parameters.private_key
        lines = tuple(line for line in key.splitlines() if len(line) > 16)
        return (key, *lines) if key else ()

    def _check_bucket(self) -> None:
        with self._errors("open bucket", self.parameters.bucket):
            try:
                exists = self._bucket.exists(retry=self._retry)
            except gexc.Forbidden:
                return  # object permissions without bucket metadata access are enough
        if not exists:
            raise ConfigurationError(
                f"bucket {self.parameters.bucket!r} does not exist", key="storage.gcs.bucket"
            )

    @contextlib.contextmanager
    def _errors(self, operation: str, path: str) -> Iterator[None]:
        try:
            yield
        except gexc.NotFound:
            raise PathNotFoundError(path) from None
        except (gexc.Forbidden, gexc.Unauthorized) as exc:
            raise StorageDriverError(
                f"{operation} {path}: permission denied (HTTP {exc.code})"
            ) from exc
        except gexc.RetryError as exc:
            raise StorageDriverError(
                f"{operation} {path}: {self._endpoint} did not answer before retries ran out"
            ) from exc
        except requests.RequestException as exc:
            raise StorageDriverError(
                f"{operation} {path}: cannot reach {self._endpoint} ({type(exc).__name__})"
            ) from exc
        except gexc.GoogleAPICallError as exc:
            raise StorageDriverError(f"{operation} {path}: HTTP {exc.code} {exc.message}") from exc

    # keys ---------------------------------------------------------------------------------

    def _key(self, path: str) -> str:
        return self._prefix + path[1:]

    def _dir_prefix(self, path: str) -> str:
        return self._prefix if path == ROOT else self._key(path) + "/"

    def _session_key(self, path: str) -> str:
        return f"{self._prefix}{SESSIONS}/{path[1:]}"

    def _path(self, key: str) -> str:
        return "/" + key[len(self._prefix) :]

    @staticmethod
    def _hidden(key: str) -> bool:
        """Session placeholders (of this store or one nested in it) and folder markers."""
        return key.startswith(f"{SESSIONS}/") or f"/{SESSIONS}/" in key or key.endswith("/")

    def _list(self, prefix: str, **options: Any) -> Iterator[storage.Blob]:
        options.setdefault("page_size", self.list_page_size)
        blobs = self._client.list_blobs(self._bucket, prefix=prefix, retry=self._retry, **options)
        return (b for b in blobs if not (self._hidden(b.name) or _is_placeholder(b)))

    # verbs --------------------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        with self._errors("get_content", path):
            blob = self._bucket.blob(self._key(path))
            data: bytes = blob.download_as_bytes(retry=self._retry)
        if _is_placeholder(blob):
            raise PathNotFoundError(path)  # an upload distribution (Go) left unfinished here
        return data

    def put_content(self, path: str, data: bytes) -> None:
        with self._errors("put_content", path):
            self._bucket.blob(self._key(path)).upload_from_string(
                bytes(data), content_type="application/octet-stream", retry=self._retry
            )

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        with self._errors("reader", path):
            blob = self._bucket.get_blob(self._key(path), retry=self._retry)
            if blob is None or _is_placeholder(blob):
                raise PathNotFoundError(path)
            if offset >= (blob.size or 0):
                return io.BytesIO(b"")
            stream = blob.open("rb", chunk_size=self.parameters.chunksize, retry=self._retry)
            stream.seek(offset)
        return stream  # type: ignore[no-any-return]

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        if not append:
            return GCSWriter(self, path)
        with self._errors("writer", path):
            holder = self._bucket.get_blob(self._session_key(path), retry=self._retry)
            blob = None
            if holder is None:
                # distribution (Go) keeps its placeholder at the path itself: resume that too
                blob = self._bucket.get_blob(self._key(path), retry=self._retry)
                if blob is not None and _is_placeholder(blob):
                    holder = blob
            if holder is not None:
                uri, offset = placeholder_state(holder.metadata)
                tail = holder.download_as_bytes(retry=self._retry) if holder.size else b""
                return GCSWriter(
                    self, path, session_uri=uri, offset=offset, tail=tail, resumed=holder is blob
                )
        if blob is None:
            raise PathNotFoundError(path)
        writer = GCSWriter(self, path, resumed=True)
        if blob.size:
            with self.reader(path) as stream:
                while chunk := stream.read(self.parameters.chunksize):
                    writer.write(chunk)
        return writer

    def stat(self, path: str) -> FileInfo:
        if path == ROOT:
            return FileInfo(ROOT, 0, datetime.now(UTC), True)
        with self._errors("stat", path):
            blob = self._bucket.get_blob(self._key(path), retry=self._retry)
            if blob is not None and not _is_placeholder(blob):
                return FileInfo(path, blob.size or 0, _mod_time(blob), False)
            child = self._first_below(path)
        if child is None:
            raise PathNotFoundError(path)
        return FileInfo(path, 0, _mod_time(child), True)

    def _first_below(self, path: str) -> storage.Blob | None:
        for child in self._list(self._dir_prefix(path), max_results=10):
            return child
        return None

    def _is_dir(self, path: str) -> bool:
        with self._errors("walk", path):
            return self._first_below(path) is not None

    def _children(self, path: str) -> _Infos:
        """The direct children of ``path`` from one delimiter listing (placeholders left out)."""
        prefix = self._dir_prefix(path)
        pages = self._client.list_blobs(
            self._bucket, prefix=prefix, delimiter="/", retry=self._retry
        )
        children = [
            FileInfo(self._path(blob.name), blob.size or 0, _mod_time(blob), False)
            for blob in pages
            if not (blob.name == prefix or self._hidden(blob.name) or _is_placeholder(blob))
        ]
        now = datetime.now(UTC)
        for sub in pages.prefixes:
            name = sub[len(prefix) :].rstrip("/")
            if name and name != SESSIONS:
                children.append(FileInfo(join(path, name), 0, now, True))
        return children

    def list(self, path: str) -> list[str]:
        with self._errors("list", path):
            children = self._children(path)
        if not children and path != ROOT:
            raise PathNotFoundError(path)
        return sorted(info.path for info in children)

    def move(self, source: str, dest: str) -> None:
        if source == dest:
            self.stat(source)
            return
        pairs = self._copy_pairs(source, dest, "move")
        self._delete_keys([src for src, _ in pairs])

    def copy(self, source: str, dest: str) -> None:
        self._copy_pairs(source, dest, "copy")

    def _copy_pairs(self, source: str, dest: str, operation: str) -> _Pairs:
        with self._errors(operation, source):
            src_key = self._key(source)
            if self._bucket.get_blob(src_key, retry=self._retry) is not None:
                pairs = [(src_key, self._key(dest))]
            else:
                prefix = src_key + "/"
                pairs = [
                    (blob.name, self._key(dest) + "/" + blob.name[len(prefix) :])
                    for blob in self._list(prefix)
                ]
                if not pairs:
                    raise PathNotFoundError(source)
            for src, dst in pairs:
                self._rewrite(self._bucket.blob(src), dst)
        return pairs

    def copy_from(self, source: StorageDriver, source_path: str, dest_path: str) -> bool:
        """Copy a file of another gcs driver on the same endpoint and account, inside GCS.

        Used by migration between buckets (or root directories); False, so the caller
        streams, when ``source`` is another service, endpoint or account.
        """
        if not isinstance(source, GCSDriver) or not self.same_account(source):
            return False
        with self._errors("copy", source_path):
            blob = source._bucket.get_blob(source._key(source_path), retry=self._retry)
            if blob is None or _is_placeholder(blob):
                raise PathNotFoundError(source_path)
            self._rewrite(blob, self._key(dest_path))
        return True

    def same_account(self, other: GCSDriver) -> bool:
        """Whether ``other`` reaches the same endpoint with the same credentials and project."""
        here = (self._endpoint, self._client.project)
        if here != (other._endpoint, other._client.project):
            return False
        return same_account(self.parameters, other.parameters, ("service_account",))

    def _rewrite(self, source: storage.Blob, dst: str) -> None:
        """Rewrite ``source`` (of any bucket) to the key ``dst``, token by token."""
        target = self._bucket.blob(dst)
        token, _, _ = target.rewrite(source, retry=self._retry)
        while token is not None:
            token, _, _ = target.rewrite(source, token=token, retry=self._retry)

    def delete(self, path: str) -> None:
        if self.delete_many([path]):
            raise PathNotFoundError(path)

    def delete_many(self, paths: Iterable[str]) -> _Keys:
        """Delete every path (recursively) with batched requests; returns the missing ones."""

        def find(path: str) -> _Keys:
            with self._errors("delete", path):
                return self._subtree_keys(path)

        keys, missing = collect_subtrees(paths, find)
        self._delete_keys(keys)
        return missing

    def _subtree_keys(self, path: str) -> _Keys:
        """Every key to remove for ``path``: the object, all below it, its upload sessions.

        Sessions of stores nested below ``path`` are found by the same flat listing; every
        session removed is cancelled too.
        """
        key = self._key(path)
        below = list(self._client.list_blobs(self._bucket, prefix=key + "/", retry=self._retry))
        holders = [blob for blob in below if _is_placeholder(blob)]
        keys = [blob.name for blob in below if not _is_placeholder(blob)]
        blob = self._bucket.get_blob(key, retry=self._retry)
        if blob is not None and _is_placeholder(blob):
            holders.append(blob)
        elif blob is not None:
            keys.append(key)
        session = self._session_key(path)
        for holder in self._client.list_blobs(self._bucket, prefix=session, retry=self._retry):
            if holder.name == session or holder.name.startswith(session + "/"):
                holders.append(holder)
        for holder in holders:
            uri, _ = placeholder_state(holder.metadata)
            if uri:
                self.upload_session(uri).abort()
            keys.append(holder.name)
        return keys

    def _delete_keys(self, keys: _Keys) -> None:
        if not keys:
            return
        with self._errors("delete", self._path(keys[0])):
            if self._batch_supported and len(keys) > 1:
                try:
                    for start in range(0, len(keys), _BATCH_LIMIT):
                        self._delete_batch(keys[start : start + _BATCH_LIMIT])
                    return
                except ValueError:
                    self._batch_supported = False  # the endpoint does not speak batch
            workers = max(1, min(len(keys), self.parameters.maxconcurrency, 16))
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(self._delete_one, keys))

    def _delete_batch(self, keys: _Keys) -> None:
        batch = self._client.batch(raise_exception=False)
        with batch:
            for key in keys:
                self._bucket.delete_blob(key)
        for response in getattr(batch, "_responses", []):
            status = getattr(response, "status_code", 200)
            if status >= 300 and status != 404:
                raise StorageDriverError(f"batch delete failed: HTTP {status}")

    def _delete_one(self, key: str) -> None:
        with contextlib.suppress(gexc.NotFound):
            self._bucket.delete_blob(key, retry=self._retry)

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        if self._signer is None or method.upper() not in ("GET", "HEAD"):
            return None
        url: str = self._bucket.blob(self._key(path)).generate_signed_url(
            version="v4",
            expiration=REDIRECT_TTL,
            method=method.upper(),
            credentials=self._signer,
            api_access_endpoint=self._endpoint,
        )
        return url

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        """Every entry below ``path``, in walk order.

        Without ``prune``, from one flat listing of the subtree, streamed (the walk holds
        no listing); with it, one delimiter listing per directory entered, so that pruned
        subtrees are never listed.
        """
        if prune is not None:
            return walk_listing(
                self._walk_children,
                path,
                start_after=start_after,
                prune=prune,
                missing_if_empty=True,
            )
        prefix = self._dir_prefix(path)
        after: str | None = None
        options: dict[str, Any] | None = {}
        if start_after is not None and is_under(start_after, path):
            after = start_after[len(path) :].lstrip("/")
            options = {"start_offset": prefix + after.split("/", 1)[0]}
        elif start_after is not None and walk_key(start_after) > walk_key(path):
            options = None  # resumed past the whole subtree: nothing to list
        return self._walk_flat(path, prefix, after, start_after is not None, options)

    def _walk_flat(
        self,
        path: str,
        prefix: str,
        after: str | None,
        resumed: bool,
        options: dict[str, Any] | None,
    ) -> Iterator[FileInfo]:
        """The entries of one flat listing of ``prefix`` (with ``options``; None: none),
        streamed in walk order after the relative key ``after``."""
        yielded = False
        with self._errors("walk", path):
            blobs = self._list(prefix, **options) if options is not None else iter(())
            listing = (
                ListedKey(blob.name[len(prefix) :], blob.size or 0, _mod_time(blob))
                for blob in blobs
            )
            for info in walk_order(listing, base=path, after=after):
                yielded = True
                yield info
            # Nothing listed: fine for a directory walked past its end, not for a missing
            # path (the contract's walk lists the path first).
            if not yielded and path != ROOT and (not resumed or not self._is_dir(path)):
                raise PathNotFoundError(path)

    def _walk_children(self, path: str) -> _Infos:
        with self._errors("walk", path):
            return self._children(path)

    def abort_pending_uploads(self, path: str, *, older_than: datetime) -> int:
        """Abort upload sessions below ``path`` whose placeholder predates ``older_than``."""
        session = self._session_key(path) if path != ROOT else f"{self._prefix}{SESSIONS}/"
        aborted = []
        with self._errors("abort_pending_uploads", path):
            for holder in self._client.list_blobs(self._bucket, prefix=session):
                inside = path == ROOT or holder.name == session
                if not (inside or holder.name.startswith(session + "/")):
                    continue
                if _created(holder) >= older_than:
                    continue
                uri, _ = placeholder_state(holder.metadata)
                if uri:
                    self.upload_session(uri).abort()
                aborted.append(holder.name)
            for key in aborted:
                self._delete_one(key)
        return len(aborted)

    # the writer's helpers -------------------------------------------------------------------

    def start_upload_session(self, path: str) -> GCSUploadSession:
        """Open a new resumable upload session for ``path``."""
        with self._errors("writer", path):
            uri = self._bucket.blob(self._key(path)).create_resumable_upload_session(
                content_type="application/octet-stream", retry=self._retry
            )
        return self.upload_session(uri)

    def upload_session(self, uri: str) -> GCSUploadSession:
        """The session behind ``uri`` (a resumable upload that may be another process's)."""
        return GCSUploadSession(self._sessions_http, uri, retry_timeout=self._retry_timeout)

    def store_placeholder(self, path: str, tail: bytes, metadata: dict[str, Any]) -> None:
        """Persist a closed writer's state: the unsent tail and the session's position."""
        with self._errors("close", path):
            holder = self._bucket.blob(self._session_key(path))
            holder.metadata = metadata
            holder.upload_from_string(tail, content_type=SESSION_CONTENT_TYPE, retry=self._retry)

    def drop_placeholder(self, path: str, *, with_object: bool = False) -> None:
        """Forget the closed-writer state of ``path`` (absent is fine), maybe the object too."""
        with self._errors("commit", path):
            self._delete_one(self._session_key(path))
            if with_object:
                self._delete_one(self._key(path))

    def close(self) -> None:
        self._sessions_http.close()
        self._client.close()

    def __repr__(self) -> str:
        return f"GCSDriver(bucket={self.parameters.bucket!r}, root={self._prefix!r})"


def _is_placeholder(blob: storage.Blob) -> bool:
    """Tell whether ``blob`` is an upload-session placeholder (ours, or distribution's)."""
    return bool(blob.content_type == SESSION_CONTENT_TYPE)


def _mod_time(blob: storage.Blob) -> datetime:
    when = blob.updated or blob.time_created
    return when if isinstance(when, datetime) else datetime.now(UTC)


def _created(blob: storage.Blob) -> datetime:
    when = blob.time_created or blob.updated
    return when if isinstance(when, datetime) else datetime.now(UTC)

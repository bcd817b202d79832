"""The ``azure`` driver: Azure Blob Storage through ``azure-storage-blob``.

Blob names are ``rootdirectory`` + the path without its leading ``/``; directories are implied
by names. ``put_content`` uploads a block blob (replacing an append blob a writer left, even
where the service refuses to change a blob's type in place); writers grow append blobs (see
:mod:`.azure_writer`). ``list`` and ``walk`` use hierarchical listings (one delimiter listing
per directory visited, so a pruned subtree is never listed), ``delete`` one flat listing of the
subtree and batch requests, ``move`` and ``copy`` a server-side copy that is polled until it
finishes (a copy that does not finish is an error, and ``move`` deletes the source only after
success); ``copy_from`` copies the same way from another container (or root directory) of the
same account, for migration. ``redirect_url`` is a read SAS valid for 20 minutes (a
user-delegation SAS with token credentials). Errors name the operation and path and never
show a credential.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, Self, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.storage.blob import (
    BlobClient,
    BlobPrefix,
    BlobSasPermissions,
    BlobServiceClient,
    BlobType,
    ExponentialRetry,
    UserDelegationKey,
    generate_blob_sas,
)

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
from distribution_storage.driver.paths import ROOT, join, walk_key
from distribution_storage.driver.streams import ReadableStream
from distribution_storage.driver.walking import walk_listing
from distribution_storage.drivers.azure_parameters import (
    CLIENT_SECRET,
    SHARED_KEY,
    AzureParameters,
)
from distribution_storage.drivers.azure_writer import AzureAppendWriter

REDIRECT_TTL = timedelta(minutes=20)
COPY_TIMEOUT = 600.0
"""How long ``move``/``copy`` wait for a server-side copy before calling it failed."""
BATCH_LIMIT = 256
"""Blob batch requests take at most 256 sub-requests."""
_IO_SIZE = 4 * 1024 * 1024
ACCOUNT_FIELDS = (
    "account_url",
    "accountname",
    "credential_type",
    "accountkey",
    "tenantid",
    "clientid",
    "secret",
)
"""The parameters two drivers share when one can copy server-side from the other."""
_CAPABILITIES = frozenset(
    {
        Capability.REDIRECT,
        Capability.BATCH_DELETE,
        Capability.SERVER_SIDE_COPY,
        Capability.FLAT_WALK,
    }
)
T = TypeVar("T")
_Names = list[str]
_Infos = list[FileInfo]


class _Backoff(ExponentialRetry):
    """Exponential backoff from ``retry_delay`` (doubling, jittered, at most 30 s)."""

    def __init__(self, delay: float, retries: int) -> None:
        super().__init__(
            initial_backoff=0,
            retry_total=retries,
            retry_connect=retries,
            retry_read=retries,
            retry_status=retries,
        )
        self.delay = delay

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        """The sleep before retry number ``settings["count"]``."""
        base = min(self.delay * 2 ** int(settings["count"]), 30.0)
        return float(base * random.uniform(0.5, 1.5))


class AzureDriver(StorageDriver):
    """Azure Blob Storage driver (distribution's ``azure``)."""

    name = "azure"

    def __init__(self, parameters: AzureParameters, *, copy_timeout: float = COPY_TIMEOUT) -> None:
        self.parameters = parameters
        self.copy_timeout = copy_timeout
        self._prefix = f"{parameters.rootdirectory}/" if parameters.rootdirectory else ""
        self._batch_supported = True
        self._delegation_key: UserDelegationKey | None = None
        self._service = BlobServiceClient(
            parameters.account_url,
            credential=_credential(parameters),
            retry_policy=_Backoff(parameters.retry_delay, parameters.max_retries),
            connection_verify=not parameters.skipverify,
            max_single_get_size=_IO_SIZE,
            max_chunk_get_size=_IO_SIZE,
            connection_timeout=20,
            read_timeout=120,
        )
        self._container = self._service.get_container_client(parameters.container)
        self._check_container()

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> Self:
        """Build the driver from distribution's azure parameters."""
        return cls(AzureParameters.from_mapping(parameters))

    @property
    def capabilities(self) -> frozenset[Capability]:  # type: ignore[override]
        """Redirects, batched deletes, server-side copies and flat walks (without prune)."""
        return _CAPABILITIES

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.parameters.secrets

    def _check_container(self) -> None:
        with self.errors("open container", self.parameters.container):
            exists = self._container.exists()
        if not exists:
            raise ConfigurationError(
                f"container {self.parameters.container!r} does not exist",
                key="storage.azure.container",
            )

    @contextlib.contextmanager
    def errors(self, operation: str, path: str) -> Iterator[None]:
        """Turn Azure SDK errors raised inside into typed driver errors naming ``path``."""
        try:
            yield
        except ResourceNotFoundError as exc:
            if _error_code(exc) == "ContainerNotFound":
                raise StorageDriverError(
                    f"{operation} {path}: container {self.parameters.container!r} does not exist"
                ) from None
            raise PathNotFoundError(path) from None
        except ClientAuthenticationError:
            raise StorageDriverError(
                f"{operation} {path}: authentication failed for account "
                f"{self.parameters.accountname!r} (check the account key or credentials)"
            ) from None
        except ServiceRequestError as exc:
            raise StorageDriverError(
                f"{operation} {path}: cannot reach {self.parameters.account_url} "
                f"({type(exc).__name__})"
            ) from None
        except HttpResponseError as exc:
            code = _error_code(exc)
            if exc.status_code == 403:
                raise StorageDriverError(
                    f"{operation} {path}: authentication failed or access denied for account "
                    f"{self.parameters.accountname!r} ({code})"
                ) from None
            raise StorageDriverError(f"{operation} {path}: HTTP {exc.status_code} {code}") from None
        except AzureError as exc:
            raise StorageDriverError(f"{operation} {path}: {type(exc).__name__}") from None

    # names ----------------------------------------------------------------------------------

    def _key(self, path: str) -> str:
        return self._prefix + path[1:]

    def _dir_prefix(self, path: str) -> str:
        return self._prefix if path == ROOT else self._key(path) + "/"

    def _path(self, key: str) -> str:
        return "/" + key[len(self._prefix) :]

    def _blob(self, path: str) -> BlobClient:
        return self._container.get_blob_client(self._key(path))

    # verbs ----------------------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        with self.errors("get_content", path):
            data: bytes = self._blob(path).download_blob().readall()
        return data

    def put_content(self, path: str, data: bytes) -> None:
        blob = self._blob(path)
        with self.errors("put_content", path):
            self.replace_blob(
                blob,
                lambda: blob.upload_blob(bytes(data), blob_type=BlobType.BLOCKBLOB, overwrite=True),
            )

    def replace_blob(self, blob: BlobClient, create: Callable[[], T]) -> T:
        """Run ``create``; if the service refuses to change the blob's type, delete and redo."""
        try:
            return create()
        except HttpResponseError as exc:
            if _error_code(exc) != "InvalidBlobType":
                raise
        with contextlib.suppress(ResourceNotFoundError):
            blob.delete_blob()
        return create()

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        blob = self._blob(path)
        with self.errors("reader", path):
            size = int(blob.get_blob_properties().size)
            if offset >= size:
                return io.BytesIO(b"")
            downloader = blob.download_blob(offset=offset)
        return ReadableStream(downloader)  # type: ignore[return-value]

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        return AzureAppendWriter(self, path, self._blob(path), resume=append)

    def stat(self, path: str) -> FileInfo:
        if path == ROOT:
            return FileInfo(ROOT, 0, datetime.now(UTC), True)
        with self.errors("stat", path):
            try:
                props = self._blob(path).get_blob_properties()
                return FileInfo(path, int(props.size), props.last_modified, False)
            except ResourceNotFoundError as exc:
                if _error_code(exc) == "ContainerNotFound":
                    raise
            pages = self._container.list_blobs(
                name_starts_with=self._key(path) + "/", results_per_page=1
            ).by_page()
            for page in pages:
                for item in page:
                    return FileInfo(path, 0, item.last_modified, True)
                break
        raise PathNotFoundError(path)

    def _children(self, path: str) -> _Infos:
        """The direct children of ``path`` from one hierarchical listing, in walk order."""
        prefix = self._dir_prefix(path)
        now = datetime.now(UTC)
        children = []
        for item in self._container.walk_blobs(name_starts_with=prefix, delimiter="/"):
            name = item.name[len(prefix) :]
            if isinstance(item, BlobPrefix):
                children.append(FileInfo(join(path, name.rstrip("/")), 0, now, True))
            elif name:
                children.append(
                    FileInfo(join(path, name), int(item.size), item.last_modified, False)
                )
        return sorted(children, key=lambda info: walk_key(info.path))

    def list(self, path: str) -> list[str]:
        with self.errors("list", path):
            children = self._children(path)
        if not children and path != ROOT:
            raise PathNotFoundError(path)
        return [info.path for info in children]

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        """Depth first, one hierarchical listing per directory entered."""
        return walk_listing(
            self._walk_children,
            path,
            start_after=start_after,
            prune=prune,
            missing_if_empty=True,
        )

    def _walk_children(self, path: str) -> _Infos:
        with self.errors("walk", path):
            return self._children(path)

    def move(self, source: str, dest: str) -> None:
        if source == dest:
            self.stat(source)
            return
        self._copy(self, source, dest, "move")
        with self.errors("move", source):
            self._blob(source).delete_blob()

    def copy(self, source: str, dest: str) -> None:
        self._copy(self, source, dest, "copy")

    def copy_from(self, source: StorageDriver, source_path: str, dest_path: str) -> bool:
        """Copy a file of another azure driver of the same account, inside the service.

        Used by migration between containers (or root directories); False, so the caller
        streams, when ``source`` is another service, endpoint or account.
        """
        if not isinstance(source, AzureDriver) or not self.same_account(source):
            return False
        self._copy(source, source_path, dest_path, "copy")
        return True

    def same_account(self, other: AzureDriver) -> bool:
        """Whether ``other`` reaches the same account at the same endpoint, with the same
        credentials."""
        return same_account(self.parameters, other.parameters, ACCOUNT_FIELDS)

    def _copy(self, origin: AzureDriver, source: str, dest: str, operation: str) -> None:
        """Copy ``source`` of ``origin`` (this driver or one of the same account) to ``dest``."""
        src, dst = origin._blob(source), self._blob(dest)
        with self.errors(operation, source):
            src.get_blob_properties()  # a missing source is PathNotFoundError, dest untouched
            url = f"{src.url}?{origin._read_sas(origin._key(source))}"
            copy = self.replace_blob(dst, lambda: dst.start_copy_from_url(url))
            status = copy.get("copy_status")
            deadline = time.monotonic() + self.copy_timeout
            delay = 0.05
            while status == "pending":
                if time.monotonic() > deadline:
                    with contextlib.suppress(AzureError):
                        dst.abort_copy(str(copy["copy_id"]))
                    raise StorageDriverError(
                        f"{operation} {source} to {dest}: the server-side copy did not finish "
                        f"within {self.copy_timeout:.0f}s and was aborted"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                status = dst.get_blob_properties().copy.status
        if status != "success":
            raise StorageDriverError(
                f"{operation} {source} to {dest}: the server-side copy ended as {status}"
            )

    def delete(self, path: str) -> None:
        if self.delete_many([path]):
            raise PathNotFoundError(path)

    def delete_many(self, paths: Iterable[str]) -> _Names:
        """Delete every path (recursively) with batch requests; returns the missing ones."""

        def find(path: str) -> _Names:
            with self.errors("delete", path):
                return self._subtree(path)

        names, missing = collect_subtrees(paths, find)
        for start in range(0, len(names), BATCH_LIMIT):
            chunk = names[start : start + BATCH_LIMIT]
            with self.errors("delete", self._path(chunk[0])):
                self._delete_names(chunk)
        return missing

    def _subtree(self, path: str) -> _Names:
        key = self._key(path)
        names = [item.name for item in self._container.list_blobs(name_starts_with=key + "/")]
        if self._container.get_blob_client(key).exists():
            names.append(key)
        return names

    def _delete_names(self, names: _Names) -> None:
        if self._batch_supported and len(names) > 1:
            try:
                responses = self._container.delete_blobs(*names, raise_on_any_failure=False)
            except HttpResponseError as exc:
                if exc.status_code not in (400, 404, 405, 501):
                    raise
                self._batch_supported = False  # no batch endpoint here: one by one
            else:
                for response in responses:
                    if response.status_code >= 300 and response.status_code != 404:
                        raise StorageDriverError(
                            f"delete: a batch sub-request failed with HTTP {response.status_code}"
                        )
                return
        for name in names:
            with contextlib.suppress(ResourceNotFoundError):
                self._container.delete_blob(name)

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        if method.upper() not in ("GET", "HEAD"):
            return None
        with self.errors("redirect_url", path):
            return f"{self._blob(path).url}?{self._read_sas(self._key(path))}"

    def _read_sas(self, name: str) -> str:
        now = datetime.now(UTC)
        expiry = now + REDIRECT_TTL
        options: dict[str, Any] = {}
        if self.parameters.credential_type == SHARED_KEY:
            options["account_key"] = self.parameters.accountkey
        else:
            key = self._delegation_key
            if key is None or _parse_time(key.signed_expiry) < expiry + timedelta(minutes=5):
                key = self._service.get_user_delegation_key(
                    now - timedelta(minutes=5), now + timedelta(hours=12)
                )
                self._delegation_key = key
            options["user_delegation_key"] = key
        return generate_blob_sas(
            self.parameters.accountname,
            self.parameters.container,
            name,
            permission=BlobSasPermissions(read=True),
            expiry=expiry,
            start=now - timedelta(minutes=5),
            **options,
        )

    def close(self) -> None:
        self._service.close()

    def __repr__(self) -> str:
        return (
            f"AzureDriver(account={self.parameters.accountname!r}, "
            f"container={self.parameters.container!r}, root={self._prefix!r})"
        )


def _credential(parameters: AzureParameters) -> Any:
    if parameters.credential_type == SHARED_KEY:
        return {"account_name": parameters.accountname, "account_key": parameters.accountkey}
    if parameters.credential_type == CLIENT_SECRET:
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(parameters.tenantid, parameters.clientid, parameters.secret)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _error_code(exc: HttpResponseError) -> str:
    code = getattr(exc, "error_code", None) or "error"
    return str(getattr(code, "value", code))


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))

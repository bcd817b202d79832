"""Blobs: the global content-addressable store, and each repository's linked view of it.

A blob is stored once under ``blobs/<alg>/<hex[0:2]>/<hex>/data``; a repository refers to it
through a ``link`` file (``_layers/<alg>/<hex>/link`` for layers and configs,
``_manifests/revisions/<alg>/<hex>/link`` for manifests) that holds the digest with no newline.
:class:`BlobStore` is the global store (stat, read, put small content, enumerate, delete);
:class:`LinkedBlobStore` is one repository's view through one kind of link: a blob is visible
there only while the link exists, deleting removes the link alone, and mounting links a blob
that is already stored without copying it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.streams import read_at_most
from distribution_storage.layout import (
    BLOBS_ROOT,
    Digest,
    blob_data_path,
    blob_dir_path,
    digest_of_blob_data_path,
    digest_of_link_dir,
    parse_link,
)
from distribution_storage.registry.errors import BlobUnknownError

OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class BlobDescriptor:
    """What is known about a stored blob: its digest, size and media type."""

    digest: Digest
    size: int
    media_type: str = OCTET_STREAM


class BlobStore:
    """The global blob store under ``blobs/``, shared by every repository."""

    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    def stat(self, digest: Digest) -> BlobDescriptor:
        """The stored blob's descriptor; raises :class:`BlobUnknownError`."""
        try:
            info = self.driver.stat(blob_data_path(digest))
        except PathNotFoundError:
            raise BlobUnknownError(digest) from None
        if info.is_dir:
            raise BlobUnknownError(digest)
        return BlobDescriptor(digest, info.size)

    def exists(self, digest: Digest) -> bool:
        """Tell whether the blob is stored."""
        try:
            self.stat(digest)
        except BlobUnknownError:
            return False
        return True

    def open(self, digest: Digest, *, offset: int = 0) -> BinaryIO:
        """A binary stream of the blob's content from ``offset``."""
        try:
            return self.driver.reader(blob_data_path(digest), offset)
        except PathNotFoundError:
            raise BlobUnknownError(digest) from None

    def get(self, digest: Digest, *, max_size: int, size: int | None = None) -> bytes:
        """The whole content of a small blob; raises ``ValueError`` past ``max_size`` bytes.

        One request, no stat first: with ``size`` (from a listing) the whole content is read,
        without it at most ``max_size + 1`` bytes of a stream, so a large blob asked for by
        mistake is not read whole.
        """
        if size is not None and size > max_size:
            raise ValueError(f"blob {digest} has {size} bytes, over {max_size}")
        path = blob_data_path(digest)
        try:
            if size is not None:
                data = self.driver.get_content(path)
            else:
                with self.driver.reader(path) as stream:
                    data = read_at_most(stream, max_size + 1)
        except PathNotFoundError:
            raise BlobUnknownError(digest) from None
        if len(data) > max_size:
            raise ValueError(f"blob {digest} has more than {max_size} bytes")
        return data

    def put(self, data: bytes, *, algorithm: str = "sha256") -> BlobDescriptor:
        """Store small content (a manifest) under its digest; skips the write if present."""
        digest = Digest.of(data, algorithm)
        if not self.exists(digest):
            self.driver.put_content(blob_data_path(digest), data)
        return BlobDescriptor(digest, len(data))

    def redirect_url(self, digest: Digest, *, method: str = "GET") -> str | None:
        """A URL the client can fetch the blob from directly, if the driver offers one."""
        self.stat(digest)
        return self.driver.redirect_url(blob_data_path(digest), method=method)

    def delete(self, digest: Digest) -> None:
        """Remove the blob's directory; links to it are left for the caller to handle."""
        try:
            self.driver.delete(blob_dir_path(digest))
        except PathNotFoundError:
            raise BlobUnknownError(digest) from None

    def __iter__(self) -> Iterator[BlobDescriptor]:
        """Every stored blob with its size, from one walk of ``blobs/``."""
        try:
            for info in self.driver.walk(BLOBS_ROOT):
                if info.is_dir:
                    continue
                digest = digest_of_blob_data_path(info.path)
                if digest is not None:
                    yield BlobDescriptor(digest, info.size)
        except PathNotFoundError:
            return


class LinkedBlobStore:
    """One repository's view of the global store through the link files under ``root``.

    ``root`` is ``_layers`` or ``_manifests/revisions`` of the repository; ``link_dir`` maps
    a digest to the directory holding its ``link`` file.
    """

    def __init__(self, blobs: BlobStore, name: str, root: str) -> None:
        self.blobs = blobs
        self.driver = blobs.driver
        self.name = name
        self.root = root

    def link_dir(self, digest: Digest) -> str:
        """``<root>/<alg>/<hex>``."""
        return f"{self.root}/{digest.algorithm}/{digest.hex}"

    def link_path(self, digest: Digest) -> str:
        """``<root>/<alg>/<hex>/link``."""
        return f"{self.link_dir(digest)}/link"

    def _target(self, digest: Digest) -> Digest:
        """The digest the link names; raises :class:`BlobUnknownError` without a link."""
        try:
            content = self.driver.get_content(self.link_path(digest))
        except PathNotFoundError:
            raise BlobUnknownError(digest, self.name) from None
        try:
            target = parse_link(content)
        except ValueError:
            raise BlobUnknownError(digest, self.name) from None
        if target != digest:
            raise BlobUnknownError(digest, self.name)
        return target

    def require_link(self, digest: Digest) -> None:
        """Raise :class:`BlobUnknownError` unless a link here names ``digest`` (one read of
        the link; whether the blob is stored is left to the read that follows)."""
        self._target(digest)

    def stat(self, digest: Digest) -> BlobDescriptor:
        """The linked blob's descriptor; :class:`BlobUnknownError` if unlinked or not stored."""
        target = self._target(digest)
        try:
            return self.blobs.stat(target)
        except BlobUnknownError:
            raise BlobUnknownError(digest, self.name) from None

    def exists(self, digest: Digest) -> bool:
        """Tell whether the blob is linked here and stored."""
        try:
            self.stat(digest)
        except BlobUnknownError:
            return False
        return True

    def open(self, digest: Digest, *, offset: int = 0) -> BinaryIO:
        """A binary stream of the linked blob from ``offset``."""
        return self.blobs.open(self._target(digest), offset=offset)

    def redirect_url(self, digest: Digest, *, method: str = "GET") -> str | None:
        """The driver's direct URL for the linked blob, or None."""
        return self.blobs.redirect_url(self._target(digest), method=method)

    def link(self, digest: Digest) -> None:
        """Write the link (the digest, no newline) for a blob that is stored."""
        self.driver.put_content(self.link_path(digest), str(digest).encode("ascii"))

    def mount(self, source: LinkedBlobStore, digest: Digest) -> BlobDescriptor:
        """Link a blob that ``source`` (another repository) holds, without copying it."""
        descriptor = source.stat(digest)
        self.link(digest)
        return descriptor

    def delete(self, digest: Digest) -> None:
        """Remove this repository's link; the data stays for garbage collection."""
        self._target(digest)
        try:
            self.driver.delete(self.link_dir(digest))
        except PathNotFoundError:
            raise BlobUnknownError(digest, self.name) from None

    def __iter__(self) -> Iterator[Digest]:
        """The digests linked here (whether or not their data is stored), from one walk."""
        try:
            for info in self.driver.walk(self.root, details=False):
                if not info.is_dir:
                    digest = digest_of_link_dir(self.root, info.path)
                    if digest is not None:
                        yield digest
        except PathNotFoundError:
            return

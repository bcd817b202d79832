"""The registry layer: content-addressable blobs, uploads, manifests, tags and the catalog.

Built only on the driver contract, so it works on every backend, and byte-compatible with
distribution's on-storage layout. Start with :class:`Registry`::

    registry = Registry(open_driver("filesystem", rootdirectory="/var/lib/registry"))
    repo = registry.repository("library/alpine")
    with repo.uploads.create() as upload:
        upload.write(b"...")
        upload.commit(digest)
"""

from distribution_storage.registry.blobs import BlobDescriptor, BlobStore, LinkedBlobStore
from distribution_storage.registry.errors import (
    BlobSizeMismatchError,
    BlobUnknownError,
    BlobUploadInvalidError,
    BlobUploadUnknownError,
    DigestInvalidError,
    DigestMismatchError,
    LayoutError,
    ManifestBlobUnknownError,
    ManifestInvalidError,
    ManifestMediaTypeUnsupportedError,
    ManifestTooLargeError,
    ManifestUnknownError,
    NameInvalidError,
    NameUnknownError,
    RegistryError,
    StoredManifestCorruptError,
    TagInvalidError,
    TagUnknownError,
    UploadIdInvalidError,
    UploadOffsetError,
)
from distribution_storage.registry.manifests import MAX_MANIFEST_SIZE, Manifest, ManifestStore
from distribution_storage.registry.mediatypes import Descriptor, ParsedManifest, parse_manifest
from distribution_storage.registry.purge import PurgeReport, UploadRecord, purge_uploads
from distribution_storage.registry.registry import Registry, Repository
from distribution_storage.registry.tags import TagStore
from distribution_storage.registry.uploads import UploadSession, UploadStore

__all__ = [
    "MAX_MANIFEST_SIZE",
    "BlobDescriptor",
    "BlobSizeMismatchError",
    "BlobStore",
    "BlobUnknownError",
    "BlobUploadInvalidError",
    "BlobUploadUnknownError",
    "Descriptor",
    "DigestInvalidError",
    "DigestMismatchError",
    "LayoutError",
    "LinkedBlobStore",
    "Manifest",
    "ManifestBlobUnknownError",
    "ManifestInvalidError",
    "ManifestMediaTypeUnsupportedError",
    "ManifestStore",
    "ManifestTooLargeError",
    "ManifestUnknownError",
    "NameInvalidError",
    "NameUnknownError",
    "ParsedManifest",
    "PurgeReport",
    "Registry",
    "RegistryError",
    "Repository",
    "StoredManifestCorruptError",
    "TagInvalidError",
    "TagStore",
    "TagUnknownError",
    "UploadIdInvalidError",
    "UploadOffsetError",
    "UploadRecord",
    "UploadSession",
    "UploadStore",
    "parse_manifest",
    "purge_uploads",
]

"""The typed errors of the registry layer, each with the OCI error code a registry answers with.

Every class subclasses :class:`StorageDriverError` (so one ``except`` catches anything the
package raises) and the builtin that fits: an unknown blob is a :class:`FileNotFoundError`, a
digest that does not match the content a :class:`ValueError`. ``code`` and ``http_status``
are what the OCI distribution API says a server answers; the example server maps errors to
responses with those two attributes alone. Malformed identifiers (digest, name, tag, upload
id) are raised by :mod:`distribution_storage.layout` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.layout import (
    Digest,
    DigestInvalidError,
    LayoutError,
    NameInvalidError,
    TagInvalidError,
    UploadIdInvalidError,
)

__all__ = [
    "BlobSizeMismatchError",
    "BlobUnknownError",
    "BlobUploadInvalidError",
    "BlobUploadUnknownError",
    "DigestInvalidError",
    "DigestMismatchError",
    "LayoutError",
    "ManifestBlobUnknownError",
    "ManifestInvalidError",
    "ManifestMediaTypeUnsupportedError",
    "ManifestTooLargeError",
    "ManifestUnknownError",
    "NameInvalidError",
    "NameUnknownError",
    "RegistryError",
    "StoredManifestCorruptError",
    "TagInvalidError",
    "TagUnknownError",
    "UploadIdInvalidError",
    "UploadOffsetError",
]


class RegistryError(StorageDriverError):
    """Base class of the registry layer's errors (malformed identifiers excepted)."""

    code: ClassVar[str] = "UNKNOWN"
    """The OCI distribution error code a registry answers with."""
    http_status: ClassVar[int] = 500
    """The HTTP status a registry answers with."""


class NameUnknownError(RegistryError, FileNotFoundError):
    """The repository does not exist."""

    code = "NAME_UNKNOWN"
    http_status = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"repository {name!r} is not known")
        self.name = name


class BlobUnknownError(RegistryError, FileNotFoundError):
    """The blob is not stored, or not linked into this repository."""

    code = "BLOB_UNKNOWN"
    http_status = 404

    def __init__(self, digest: Digest, name: str = "") -> None:
        where = f" in repository {name!r}" if name else ""
        super().__init__(f"blob {digest} is not known{where}")
        self.digest = digest
        self.name = name


class BlobUploadUnknownError(RegistryError, FileNotFoundError):
    """No upload with this id exists in the repository."""

    code = "BLOB_UPLOAD_UNKNOWN"
    http_status = 404

    def __init__(self, upload_id: str, name: str) -> None:
        super().__init__(f"upload {upload_id!r} is not known in repository {name!r}")
        self.upload_id = upload_id
        self.name = name


class BlobUploadInvalidError(RegistryError, ValueError):
    """An upload cannot go on as asked (truncated body, upload in use, ...)."""

    code = "BLOB_UPLOAD_INVALID"
    http_status = 400


class UploadOffsetError(BlobUploadInvalidError):
    """A chunk does not start where the upload's data ends (HTTP 416)."""

    http_status = 416

    def __init__(self, upload_id: str, expected: int, given: int) -> None:
        super().__init__(
            f"upload {upload_id!r} is at offset {expected}, the chunk starts at {given}"
        )
        self.upload_id = upload_id
        self.expected = expected
        self.given = given


class DigestMismatchError(DigestInvalidError):
    """What was uploaded does not hash to the digest the client gave; nothing was linked."""

    def __init__(self, expected: Digest, actual: Digest) -> None:
        super().__init__(str(expected), f"the content's digest is {actual}")
        self.expected = expected
        self.actual = actual


class BlobSizeMismatchError(RegistryError, ValueError):
    """What was uploaded is not as long as the client said; nothing was linked."""

    code = "SIZE_INVALID"
    http_status = 400

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"the upload holds {actual} bytes, the client said {expected}")
        self.expected = expected
        self.actual = actual


class ManifestUnknownError(RegistryError, FileNotFoundError):
    """No such manifest in this repository."""

    code = "MANIFEST_UNKNOWN"
    http_status = 404

    def __init__(self, reference: str, name: str) -> None:
        super().__init__(f"manifest {reference} is not known in repository {name!r}")
        self.reference = reference
        self.name = name


class TagUnknownError(ManifestUnknownError):
    """The tag does not exist in this repository."""


class ManifestInvalidError(RegistryError, ValueError):
    """A manifest cannot be parsed or breaks its schema."""

    code = "MANIFEST_INVALID"
    http_status = 400


class StoredManifestCorruptError(ManifestInvalidError):
    """A stored manifest's content does not hash to the digest it is stored under."""

    def __init__(self, digest: Digest, actual: Digest) -> None:
        super().__init__(f"stored manifest {digest} has content of digest {actual}")
        self.digest = digest
        self.actual = actual


class ManifestMediaTypeUnsupportedError(ManifestInvalidError):
    """The manifest's media type is not one this registry stores."""

    def __init__(self, media_type: str) -> None:
        super().__init__(f"unsupported manifest media type {media_type!r}")
        self.media_type = media_type


class ManifestTooLargeError(ManifestInvalidError):
    """The manifest is larger than the 4 MiB a registry accepts (HTTP 413)."""

    code = "SIZE_INVALID"
    http_status = 413

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"manifest of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class ManifestBlobUnknownError(ManifestInvalidError):
    """The manifest references blobs or child manifests that the repository does not hold."""

    code = "MANIFEST_BLOB_UNKNOWN"
    http_status = 400

    def __init__(self, missing: Sequence[Digest]) -> None:
        shown = ", ".join(str(d) for d in missing[:5]) + (" ..." if len(missing) > 5 else "")
        super().__init__(f"manifest references unknown blobs: {shown}")
        self.missing = list(missing)

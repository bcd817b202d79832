"""Path specs of distribution's content-addressable layout, and the identifiers they are built from.

Everything the registry layer stores lives under ``/docker/registry/v2``; the functions here
spell each path out once (``blob_data_path``, ``layer_link_path``, ``tag_current_link_path``
...), byte for byte as distribution writes them, so nothing else in the package joins paths
by hand. The identifiers that go into those paths are checked here too: :class:`Digest`
(``algorithm:hex``), repository names and tags by the OCI rules. A malformed one raises a
:class:`LayoutError` subclass that carries the OCI error code a registry would answer with.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from typing import ClassVar

from distribution_storage.driver.errors import StorageDriverError

ROOT = "/docker/registry/v2"
BLOBS_ROOT = f"{ROOT}/blobs"
REPOSITORIES_ROOT = f"{ROOT}/repositories"

NAME_MAX_LENGTH = 255
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_HEX = re.compile(r"[0-9a-f]+")
_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_ALGORITHMS = {name: name for name in _HEX_LENGTHS}
"""One string object per algorithm, shared by every digest (a million digests would
otherwise hold a million copies of ``"sha256"``)."""


class LayoutError(StorageDriverError, ValueError):
    """An identifier (digest, repository name, tag, upload id) breaks the layout's rules."""

    code: ClassVar[str] = "UNKNOWN"
    """The OCI distribution error code a registry answers with."""
    http_status: ClassVar[int] = 400
    """The HTTP status a registry answers with."""


class DigestInvalidError(LayoutError):
    """A digest is malformed or uses an algorithm this registry does not support."""

    code = "DIGEST_INVALID"

    def __init__(self, value: str, reason: str = "") -> None:
        super().__init__(f"invalid digest {value!r}" + (f": {reason}" if reason else ""))
        self.value = value


class NameInvalidError(LayoutError):
    """A repository name breaks the OCI naming rules."""

    code = "NAME_INVALID"

    def __init__(self, name: str, reason: str = "") -> None:
        super().__init__(f"invalid repository name {name!r}" + (f": {reason}" if reason else ""))
        self.name = name


class TagInvalidError(LayoutError):
    """A tag breaks the OCI tag rule ``[A-Za-z0-9_][A-Za-z0-9._-]{0,127}``."""

    code = "TAG_INVALID"

    def __init__(self, tag: str) -> None:
        super().__init__(f"invalid tag {tag!r}")
        self.tag = tag


class UploadIdInvalidError(LayoutError):
    """An upload id cannot name an upload directory."""

    code = "BLOB_UPLOAD_INVALID"

    def __init__(self, upload_id: str) -> None:
        super().__init__(f"invalid upload id {upload_id!r}")
        self.upload_id = upload_id


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A content digest, ``algorithm:hex``; ``str(digest)`` is the canonical form."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, value: str) -> Digest:
        """Parse and validate ``value``; raises :class:`DigestInvalidError`."""
        if not isinstance(value, str):
            raise DigestInvalidError(repr(value), "a digest is a string")
        algorithm, sep, hex_part = value.partition(":")
        if not sep:
            raise DigestInvalidError(value, "expected algorithm:hex")
        expected = _HEX_LENGTHS.get(algorithm)
        if expected is None:
            raise DigestInvalidError(value, f"unsupported algorithm {algorithm!r}")
        if len(hex_part) != expected or not _HEX.fullmatch(hex_part):
            raise DigestInvalidError(value, f"expected {expected} lowercase hex digits")
        # Interned: the many records naming one blob (its links, the manifests referencing
        # it) then share one copy of its hex digits.
        return cls(_ALGORITHMS[algorithm], sys.intern(hex_part))

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data``."""
        return cls(_ALGORITHMS.get(algorithm, algorithm), hashlib.new(algorithm, data).hexdigest())

    @classmethod
    def from_hash(cls, hasher: hashlib._Hash) -> Digest:
        """The digest a running ``hashlib`` object has computed so far."""
        return cls(_ALGORITHMS.get(hasher.name, hasher.name), hasher.hexdigest())

    def hasher(self) -> hashlib._Hash:
        """A fresh ``hashlib`` object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


class DigestTable:
    """One :class:`Digest` object per distinct digest, however often it is met.

    An inventory meets a blob's digest in its blob directory, in a layer link and revision
    link of every repository using it, and in the manifests referencing it. Parsed through
    one table they share one object, and each distinct digest is validated once (a repeat
    is one dictionary lookup instead of a parse). Safe to share between threads.
    """

    def __init__(self) -> None:
        self._by_algorithm: dict[str, dict[str, Digest]] = {}

    def __len__(self) -> int:
        return sum(len(table) for table in self._by_algorithm.values())

    def get(self, algorithm: str, hex_part: str) -> Digest | None:
        """The digest ``algorithm:hex_part``, or None if that is not a valid digest."""
        table = self._by_algorithm.get(algorithm)
        if table is not None and (known := table.get(hex_part)) is not None:
            return known
        try:
            digest = Digest.parse(f"{algorithm}:{hex_part}")
        except DigestInvalidError:
            return None
        return self.intern(digest)

    def intern(self, digest: Digest) -> Digest:
        """The table's object equal to ``digest`` (``digest`` itself when it is new)."""
        table = self._by_algorithm.setdefault(digest.algorithm, {})
        return table.setdefault(digest.hex, digest)


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid repository name, else raise :class:`NameInvalidError`."""
    if not isinstance(name, str) or not name:
        raise NameInvalidError(str(name), "empty")
    if len(name) > NAME_MAX_LENGTH:
        raise NameInvalidError(name, f"longer than {NAME_MAX_LENGTH} characters")
    if not _NAME.fullmatch(name):
        raise NameInvalidError(
            name, "components are lowercase [a-z0-9] joined by '.', '_', '__' or '-'"
        )
    return name


def check_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid tag, else raise :class:`TagInvalidError`."""
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise TagInvalidError(str(tag))
    return tag


def is_valid_tag(tag: str) -> bool:
    """Tell whether ``tag`` is a valid tag."""
    return isinstance(tag, str) and bool(_TAG.fullmatch(tag))


def check_upload_id(upload_id: str) -> str:
    """Return ``upload_id`` if it can name an upload directory."""
    if not isinstance(upload_id, str) or not _UPLOAD_ID.fullmatch(upload_id):
        raise UploadIdInvalidError(str(upload_id))
    return upload_id


# --- blobs --------------------------------------------------------------------------------


def blob_dir_path(digest: Digest) -> str:
    """``blobs/<alg>/<hex[0:2]>/<hex>``: the directory that holds a blob."""
    return f"{BLOBS_ROOT}/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def blob_data_path(digest: Digest) -> str:
    """``blobs/<alg>/<hex[0:2]>/<hex>/data``: a blob's content."""
    return f"{blob_dir_path(digest)}/data"


def digest_of_blob_data_path(path: str, digests: DigestTable | None = None) -> Digest | None:
    """The digest a ``blobs/.../<hex>/data`` path stores, or None for any other path;
    taken from ``digests`` when given."""
    parts = path[len(BLOBS_ROOT) + 1 :].split("/") if path.startswith(BLOBS_ROOT + "/") else []
    if len(parts) != 4 or parts[3] != "data" or parts[2][:2] != parts[1]:
        return None
    return (digests if digests is not None else DigestTable()).get(parts[0], parts[2])


# --- repositories -------------------------------------------------------------------------


def repository_path(name: str) -> str:
    """``repositories/<name>``."""
    return f"{REPOSITORIES_ROOT}/{name}"


def split_repository_path(path: str) -> tuple[str, list[str]] | None:
    """A path below ``repositories/`` as (repository name, its components from the first
    reserved one: ``_manifests``, ``_layers`` or ``_uploads`` on); None for a path above
    any reserved component. A name's components never start with ``_``, so the first
    component that does ends the name; one further down (a tag may be ``_uploads``) does not.
    """
    relative = path[len(REPOSITORIES_ROOT) + 1 :]
    end = relative.find("/_")
    if end <= 0 or relative.startswith("_"):
        return None
    return relative[:end], relative[end + 1 :].split("/")


def manifests_root(name: str) -> str:
    """``repositories/<name>/_manifests``: its presence makes a directory a repository."""
    return f"{repository_path(name)}/_manifests"


def layers_root(name: str) -> str:
    """``repositories/<name>/_layers``."""
    return f"{repository_path(name)}/_layers"


def layer_link_dir(name: str, digest: Digest) -> str:
    """``_layers/<alg>/<hex>``: the directory of a layer link."""
    return f"{layers_root(name)}/{digest.algorithm}/{digest.hex}"


def layer_link_path(name: str, digest: Digest) -> str:
    """``_layers/<alg>/<hex>/link``."""
    return f"{layer_link_dir(name, digest)}/link"


def revisions_root(name: str) -> str:
    """``_manifests/revisions``."""
    return f"{manifests_root(name)}/revisions"


def manifest_revision_dir(name: str, digest: Digest) -> str:
    """``_manifests/revisions/<alg>/<hex>``."""
    return f"{revisions_root(name)}/{digest.algorithm}/{digest.hex}"


def manifest_revision_link_path(name: str, digest: Digest) -> str:
    """``_manifests/revisions/<alg>/<hex>/link``."""
    return f"{manifest_revision_dir(name, digest)}/link"


def tags_root(name: str) -> str:
    """``_manifests/tags``."""
    return f"{manifests_root(name)}/tags"


def tag_dir(name: str, tag: str) -> str:
    """``_manifests/tags/<tag>``."""
    return f"{tags_root(name)}/{tag}"


def tag_current_link_path(name: str, tag: str) -> str:
    """``_manifests/tags/<tag>/current/link``: the manifest a tag names now."""
    return f"{tag_dir(name, tag)}/current/link"


def tag_index_root(name: str, tag: str) -> str:
    """``_manifests/tags/<tag>/index``: every manifest the tag has named."""
    return f"{tag_dir(name, tag)}/index"


def tag_index_dir(name: str, tag: str, digest: Digest) -> str:
    """``_manifests/tags/<tag>/index/<alg>/<hex>``."""
    return f"{tag_index_root(name, tag)}/{digest.algorithm}/{digest.hex}"


def tag_index_link_path(name: str, tag: str, digest: Digest) -> str:
    """``_manifests/tags/<tag>/index/<alg>/<hex>/link``."""
    return f"{tag_index_dir(name, tag, digest)}/link"


def uploads_root(name: str) -> str:
    """``repositories/<name>/_uploads``."""
    return f"{repository_path(name)}/_uploads"


def upload_dir(name: str, upload_id: str) -> str:
    """``_uploads/<id>``."""
    return f"{uploads_root(name)}/{upload_id}"


def upload_data_path(name: str, upload_id: str) -> str:
    """``_uploads/<id>/data``: the bytes received so far."""
    return f"{upload_dir(name, upload_id)}/data"


def upload_started_at_path(name: str, upload_id: str) -> str:
    """``_uploads/<id>/startedat``: an RFC 3339 UTC timestamp."""
    return f"{upload_dir(name, upload_id)}/startedat"


def upload_commit_path(name: str, upload_id: str, token: str) -> str:
    """``_uploads/<id>/committing-<token>``: where one session's commit fences the data off
    before verifying it (ours; distribution has no such file, and purges the directory)."""
    return f"{upload_dir(name, upload_id)}/{UPLOAD_COMMIT_PREFIX}{token}"


UPLOAD_COMMIT_PREFIX = "committing-"


def upload_hash_state_path(name: str, upload_id: str, algorithm: str, offset: int) -> str:
    """``_uploads/<id>/hashstates/<alg>/<offset>`` (distribution's Go hash state; never written)."""
    return f"{upload_dir(name, upload_id)}/hashstates/{algorithm}/{offset}"


def parse_link(content: bytes) -> Digest:
    """The digest a link file (a tag's ``current/link``, a revision, layer or tag history
    link) names, surrounding whitespace ignored; raises :class:`DigestInvalidError` (a
    ``ValueError``) for anything else. Every reader of links uses this one rule."""
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError:
        raise DigestInvalidError(repr(content[:80]), "a link holds an ASCII digest") from None
    return Digest.parse(text.strip())


def digest_of_link_dir(root: str, path: str) -> Digest | None:
    """The digest of a ``<root>/<alg>/<hex>/link`` path, or None for any other path."""
    if not path.startswith(root + "/"):
        return None
    parts = path[len(root) + 1 :].split("/")
    if len(parts) != 3 or parts[2] != "link":
        return None
    try:
        return Digest.parse(f"{parts[0]}:{parts[1]}")
    except DigestInvalidError:
        return None

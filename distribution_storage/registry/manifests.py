"""Manifests: stored as blobs, linked into a repository by ``_manifests/revisions`` links.

Putting a manifest checks its size (4 MiB at most), parses it with the handler of its media
type (:mod:`distribution_storage.registry.mediatypes`), verifies that every blob it references
is linked in the repository and every child manifest is one of the repository's manifests,
then stores the bytes as a blob, writes the revision link and, with a tag, the tag. Getting
one re-checks its digest (it is small), so a corrupted store is reported rather than served.
Deleting removes the revision link and the tags naming it; the bytes stay until GC. The OCI
referrers of a manifest are the repository's manifests whose ``subject`` is it; what each
manifest refers to is remembered (:mod:`distribution_storage.registry.subjects`), so a query
reads only the manifests it has not met.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from distribution_storage.layout import Digest, check_tag
from distribution_storage.registry.blobs import BlobStore, LinkedBlobStore
from distribution_storage.registry.errors import (
    BlobUnknownError,
    ManifestBlobUnknownError,
    ManifestInvalidError,
    ManifestMediaTypeUnsupportedError,
    ManifestTooLargeError,
    ManifestUnknownError,
    StoredManifestCorruptError,
)
from distribution_storage.registry.mediatypes import (
    WRITABLE_MEDIA_TYPES,
    Descriptor,
    ParsedManifest,
    parse_manifest,
)
from distribution_storage.registry.subjects import UNKNOWN, Referrer, SubjectCache
from distribution_storage.registry.tags import TagStore

MAX_MANIFEST_SIZE = 4 * 1024 * 1024
"""The largest manifest accepted or read, in bytes (distribution's limit)."""


@dataclass(frozen=True)
class Manifest:
    """A stored manifest: its digest, media type, exact bytes and what it references."""

    digest: Digest
    payload: bytes
    parsed: ParsedManifest

    @property
    def media_type(self) -> str:
        """The manifest's media type."""
        return self.parsed.media_type

    @property
    def subject(self) -> Descriptor | None:
        """The manifest this one refers to (OCI ``subject``), if any."""
        return self.parsed.subject

    @property
    def references(self) -> tuple[Descriptor, ...]:
        """Everything it references: config and layers, or child manifests."""
        return self.parsed.blobs + self.parsed.manifests

    def descriptor(self) -> Descriptor:
        """A descriptor of this manifest, as a referrers list shows it."""
        return Descriptor(
            self.media_type,
            self.digest,
            len(self.payload),
            artifact_type=self.parsed.artifact_type,
            annotations=self.parsed.annotations or None,
        )

    def referrer(self) -> Referrer | None:
        """Its subject's digest and its own descriptor, if it has a subject."""
        subject = self.subject
        return None if subject is None else Referrer(subject.digest, self.descriptor())


def parse_stored_manifest(digest: Digest, payload: bytes) -> ParsedManifest:
    """Parse ``payload``, read from blob ``digest``, after checking that it hashes to it;
    raises :class:`StoredManifestCorruptError` when it does not, else what
    :func:`parse_manifest` raises (:class:`ManifestInvalidError` and its kinds). The registry,
    GC and fsck all read stored manifests through this."""
    actual = Digest.of(payload, digest.algorithm)
    if actual != digest:
        raise StoredManifestCorruptError(digest, actual)
    return parse_manifest(payload)


class ManifestStore:
    """One repository's manifests."""

    def __init__(
        self,
        blobs: BlobStore,
        layers: LinkedBlobStore,
        revisions: LinkedBlobStore,
        tags: TagStore,
        subjects: SubjectCache,
    ) -> None:
        self.blobs = blobs
        self.layers = layers
        self.revisions = revisions
        self.tags = tags
        self.name = revisions.name
        self.subjects = subjects
        """What the manifests met so far refer to (shared by a registry's repositories)."""

    def exists(self, digest: Digest) -> bool:
        """Tell whether the manifest is linked in this repository and stored."""
        return self.revisions.exists(digest)

    def get(self, digest: Digest) -> Manifest:
        """The manifest by digest; :class:`ManifestUnknownError` if it is not here."""
        try:
            self.revisions.require_link(digest)
        except BlobUnknownError:
            raise ManifestUnknownError(str(digest), self.name) from None
        return self._read(digest)

    def _read(self, digest: Digest) -> Manifest:
        """The manifest stored as blob ``digest``, checked and remembered, for a caller that
        knows it is linked here."""
        try:
            payload = self.blobs.get(digest, max_size=MAX_MANIFEST_SIZE)
        except BlobUnknownError:
            raise ManifestUnknownError(str(digest), self.name) from None
        except ValueError as exc:
            raise ManifestInvalidError(f"stored manifest {digest}: {exc}") from None
        manifest = Manifest(digest, payload, parse_stored_manifest(digest, payload))
        self.subjects.remember(digest, manifest.referrer())
        return manifest

    def put(
        self, payload: bytes, *, media_type: str | None = None, tag: str | None = None
    ) -> Manifest:
        """Verify and store a manifest, and tag it if ``tag`` is given. Returns it.

        ``media_type`` is the content type it came with; it must agree with the manifest's
        own ``mediaType``. Raises :class:`ManifestTooLargeError`,
        :class:`ManifestInvalidError`, :class:`ManifestMediaTypeUnsupportedError` or
        :class:`ManifestBlobUnknownError` (with the missing digests).
        """
        payload = bytes(payload)
        if tag is not None:
            check_tag(tag)
        if len(payload) > MAX_MANIFEST_SIZE:
            raise ManifestTooLargeError(len(payload), MAX_MANIFEST_SIZE)
        parsed = parse_manifest(payload, media_type)
        if parsed.media_type not in WRITABLE_MEDIA_TYPES:
            raise ManifestMediaTypeUnsupportedError(parsed.media_type)
        missing = [
            d.digest for d in parsed.blobs if not d.urls and not self.layers.exists(d.digest)
        ]
        missing += [d.digest for d in parsed.manifests if not self.revisions.exists(d.digest)]
        if missing:
            raise ManifestBlobUnknownError(list(dict.fromkeys(missing)))
        stored = self.blobs.put(payload)
        self.revisions.link(stored.digest)
        if tag is not None:
            self.tags.tag(tag, stored.digest)
        manifest = Manifest(stored.digest, payload, parsed)
        self.subjects.remember(manifest.digest, manifest.referrer())
        return manifest

    def delete(self, digest: Digest) -> None:
        """Remove the manifest's revision link and every tag naming it; data stays for GC."""
        if not self.revisions.exists(digest):
            raise ManifestUnknownError(str(digest), self.name)
        for tag in self.tags.lookup(digest):
            self.tags.untag(tag)
        self.revisions.delete(digest)

    def __iter__(self) -> Iterator[Digest]:
        """The digests of every revision linked here, from one walk."""
        return iter(self.revisions)

    def referrers(self, digest: Digest, *, artifact_type: str | None = None) -> list[Descriptor]:
        """Descriptors of the manifests here whose ``subject`` is ``digest`` (OCI referrers).

        Lists the repository's revisions and reads those whose subject is not yet known;
        ``artifact_type`` filters the result. A manifest that cannot be read is left out (and
        tried again by the next query).
        """
        found = []
        for revision in self:
            referrer = self.subjects.get(revision)
            if referrer is UNKNOWN:
                try:
                    # Just listed as linked: read its blob, not its link again.
                    referrer = self._read(revision).referrer()
                except (ManifestUnknownError, ManifestInvalidError):
                    continue
            if not isinstance(referrer, Referrer) or referrer.subject != digest:
                continue
            if artifact_type is not None and referrer.descriptor.artifact_type != artifact_type:
                continue
            found.append(referrer.descriptor)
        return sorted(found, key=lambda d: str(d.digest))

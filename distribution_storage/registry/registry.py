"""The entry point of the registry layer: :class:`Registry` over one storage driver.

``Registry(driver)`` holds the global blob store and hands out :class:`Repository` objects,
each bundling that repository's linked blobs (``blobs``), uploads, manifests and tags. It
also answers the store-wide questions: the catalog, the list of every repository (for GC),
and upload purging. Everything goes through the driver contract, so it works on every
backend; the driver is put behind the validating wrapper if it is not already.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.wrapper import validated
from distribution_storage.layout import (
    Digest,
    check_name,
    is_valid_tag,
    layers_root,
    manifests_root,
    revisions_root,
)
from distribution_storage.registry.blobs import BlobDescriptor, BlobStore, LinkedBlobStore
from distribution_storage.registry.catalog import catalog, repository_names
from distribution_storage.registry.errors import TagInvalidError
from distribution_storage.registry.manifests import ManifestStore
from distribution_storage.registry.purge import DEFAULT_PURGE_AGE, PurgeReport, purge_uploads
from distribution_storage.registry.subjects import DEFAULT_CAPACITY, SubjectCache
from distribution_storage.registry.tags import TagStore
from distribution_storage.registry.uploads import LiveHashes, UploadStore


class Repository:
    """One repository: ``blobs`` (its layer links), ``uploads``, ``manifests``, ``tags``."""

    def __init__(self, registry: Registry, name: str) -> None:
        self.name = check_name(name)
        self.registry = registry
        driver = registry.driver
        self.blobs = LinkedBlobStore(registry.blobs, self.name, layers_root(self.name))
        """Blobs (layers, configs) linked into this repository."""
        self.revisions = LinkedBlobStore(registry.blobs, self.name, revisions_root(self.name))
        """Manifest revision links (the manifests' own blobs)."""
        self.tags = TagStore(driver, self.name, self.revisions)
        self.manifests = ManifestStore(
            registry.blobs, self.blobs, self.revisions, self.tags, registry.subjects
        )
        self.uploads = UploadStore(registry.blobs, self.blobs, registry.live_hashes)

    def exists(self) -> bool:
        """Tell whether the repository has a ``_manifests`` directory."""
        try:
            return self.registry.driver.stat(manifests_root(self.name)).is_dir
        except PathNotFoundError:
            return False

    def mount_blob(self, digest: Digest, source: str) -> BlobDescriptor:
        """Link a blob that repository ``source`` holds into this one, without copying."""
        return self.blobs.mount(self.registry.repository(source).blobs, digest)

    def resolve(self, reference: str) -> Digest:
        """The manifest digest a reference (a tag or a digest) names."""
        if ":" in reference:
            return Digest.parse(reference)
        if not is_valid_tag(reference):
            raise TagInvalidError(reference)
        return self.tags.get(reference)

    def __repr__(self) -> str:
        return f"Repository({self.name!r})"


class Registry:
    """A registry's storage: the global blob store and its repositories."""

    def __init__(
        self, driver: StorageDriver, *, subject_cache_size: int = DEFAULT_CAPACITY
    ) -> None:
        self.driver = validated(driver)
        self.blobs = BlobStore(self.driver)
        """The global blob store (every blob, whatever repository links it)."""
        self.live_hashes = LiveHashes()
        """Hash objects of this instance's open uploads, so continuing needs no re-read."""
        self.subjects = SubjectCache(subject_cache_size)
        """What the manifests met so far refer to, for referrers queries: a manifest's
        digest fixes its content, so this is never stale; ``subject_cache_size`` bounds it."""

    def repository(self, name: str) -> Repository:
        """The repository ``name`` (validated by the OCI rules; it need not exist yet)."""
        return Repository(self, name)

    def catalog(self, n: int | None = None, last: str | None = None) -> list[str]:
        """At most ``n`` repository names after ``last``, in distribution's name order."""
        return catalog(self.driver, n=n, last=last)

    def repositories(self) -> Iterator[str]:
        """Every repository name, in order, lazily (one walk of ``repositories/``)."""
        return repository_names(self.driver)

    def purge_uploads(
        self,
        *,
        older_than: timedelta = DEFAULT_PURGE_AGE,
        dry_run: bool = False,
        now: datetime | None = None,
    ) -> PurgeReport:
        """Remove uploads older than ``older_than`` (and the backend's pending uploads)."""
        return purge_uploads(self.driver, older_than=older_than, dry_run=dry_run, now=now)

    def __repr__(self) -> str:
        return f"Registry({self.driver!r})"

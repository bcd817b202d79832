"""The mark phase: which manifests of a repository survive, and which blobs they keep.

A repository's roots are its tagged manifests (all of its manifests without
``delete_untagged``) and any manifest whose revision link is younger than the grace period.
Everything reachable from a root survives: an index's or list's child manifests, and their
children, always (distribution 2.8.2 deleted them under ``-m``). By default an untagged
manifest whose OCI ``subject`` survives (a signature, an SBOM) survives too, and so on for
referrers of referrers. A surviving manifest keeps its own blob, its config and its layers.

Any manifest or tag that cannot be read or parsed stops the run with
:class:`GarbageCollectionError` naming the repository and digest: a transient error must
never turn into a deletion. Only a manifest whose blob is absent from the store (known from
the inventory, not guessed from an error) is passed over, with a note.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.gc.crosscheck import missing_revision
from distribution_storage.gc.report import GarbageCollectionError
from distribution_storage.inventory import BlobRecord, RepositoryInventory, look_again
from distribution_storage.layout import (
    BLOBS_ROOT,
    Digest,
    DigestTable,
    blob_data_path,
    parse_link,
    tag_current_link_path,
)
from distribution_storage.registry.blobs import BlobStore
from distribution_storage.registry.errors import BlobUnknownError, RegistryError
from distribution_storage.registry.manifests import MAX_MANIFEST_SIZE, parse_stored_manifest


@dataclass
class RepositoryMark:
    """The mark phase's verdict on one repository."""

    name: str
    tags: dict[str, Digest] = field(default_factory=dict)
    survivors: set[Digest] = field(default_factory=set)
    """Manifests of this repository that stay."""
    doomed: dict[Digest, str] = field(default_factory=dict)
    """Manifest revisions to delete, with the reason."""
    marked: set[Digest] = field(default_factory=set)
    """Every blob this repository keeps alive (manifests, configs, layers)."""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ManifestRefs:
    """What marking needs of a manifest, and no more: the digests it references."""

    blobs: tuple[Digest, ...]
    children: tuple[Digest, ...]
    subject: Digest | None


class ManifestCache:
    """Manifest references by digest, shared by every repository (a base image is read once).

    Only the referenced digests are kept, each taken from ``digests``, the table the
    inventory parsed its digests with: a million blobs cost a million digest objects, not
    one more for every link and reference naming them.
    """

    def __init__(
        self,
        driver: StorageDriver,
        known: Mapping[Digest, BlobRecord | None],
        digests: DigestTable | None = None,
    ) -> None:
        self.digests = digests if digests is not None else DigestTable()
        self._known = known
        self._blobs = BlobStore(driver)
        self._refs: dict[Digest, ManifestRefs] = {}
        self._lock = threading.Lock()
        self.reads = 0

    def get(self, digest: Digest, repository: str) -> ManifestRefs | None:
        """The parsed manifest stored as blob ``digest``, None if the blob has no data;
        fails closed on any other problem."""
        with self._lock:
            cached = self._refs.get(digest)
        if cached is not None:
            return cached
        record = self._known.get(digest)
        try:
            payload = self._blobs.get(
                digest,
                max_size=MAX_MANIFEST_SIZE,
                size=record.size if record is not None else None,
            )
        except BlobUnknownError:
            return None
        except StorageDriverError as exc:
            raise GarbageCollectionError(
                f"cannot read manifest: {exc}", repository=repository, digest=str(digest)
            ) from exc
        except ValueError:
            raise GarbageCollectionError(
                f"manifest is over the {MAX_MANIFEST_SIZE}-byte limit",
                repository=repository,
                digest=str(digest),
            ) from None
        try:
            parsed = parse_stored_manifest(digest, payload)
        except RegistryError as exc:
            raise GarbageCollectionError(
                f"invalid manifest: {exc.detail}", repository=repository, digest=str(digest)
            ) from exc
        intern = self.digests.intern
        refs = ManifestRefs(
            tuple(intern(d.digest) for d in parsed.blobs),
            tuple(intern(d.digest) for d in parsed.manifests),
            intern(parsed.subject.digest) if parsed.subject is not None else None,
        )
        with self._lock:
            self._refs[digest] = refs
            self.reads += 1
        return refs


def read_tag(driver: StorageDriver, repository: str, tag: str) -> Digest | None:
    """The digest a tag names now; None if the tag vanished meanwhile; fails closed otherwise."""
    try:
        content = driver.get_content(tag_current_link_path(repository, tag))
    except PathNotFoundError:
        return None
    except StorageDriverError as exc:
        raise GarbageCollectionError(
            f"cannot read tag {tag}: {exc}", repository=repository
        ) from exc
    try:
        return parse_link(content)
    except ValueError:
        raise GarbageCollectionError(
            f"tag {tag} has a malformed link {content[:80]!r}", repository=repository
        ) from None


def mark_repository(
    driver: StorageDriver,
    repository: RepositoryInventory,
    blobs: Mapping[Digest, BlobRecord | None],
    manifests: ManifestCache,
    *,
    delete_untagged: bool,
    keep_referrers: bool,
    is_young: Callable[[datetime], bool],
) -> RepositoryMark:
    """Decide which manifests of ``repository`` survive and which blobs they keep."""
    name = repository.name
    mark = RepositoryMark(name)
    parsed: dict[Digest, ManifestRefs] = {}
    missing: set[Digest] = set()
    unlinked: set[Digest] = set()

    def is_revision(digest: Digest, what: str) -> bool:
        # The listing's absence is checked before it can cost a manifest its blobs.
        if digest in repository.revisions:
            return True
        if digest in unlinked:
            return False
        try:
            if missing_revision(driver, repository, digest, is_young, what=what):
                return True
        except StorageDriverError as exc:
            raise _fail_closed(exc, name, digest) from exc
        unlinked.add(digest)
        return False

    for tag in repository.tags:
        digest = read_tag(driver, name, tag)
        if digest is None:
            continue
        digest = mark.tags[tag] = manifests.digests.intern(digest)
        if not is_revision(digest, f"tag {tag} names manifest {digest}"):
            mark.notes.append(f"{name}: tag {tag} names {digest}, which has no revision link")

    def has_blob(digest: Digest) -> bool:
        if digest in blobs:
            return True
        try:
            info = look_again(
                driver,
                blob_data_path(digest),
                is_young,
                listed=BLOBS_ROOT,
                what=f"{name}: manifest {digest} is linked",
            )
        except StorageDriverError as exc:
            raise _fail_closed(exc, name, digest) from exc
        return info is not None

    def load(digest: Digest) -> ManifestRefs | None:
        # Only this repository's manifests are read: a reference to anything else (a
        # deleted child, a blob) marks that digest and stops there, as in distribution.
        if digest in parsed:
            return parsed[digest]
        if digest in missing:
            return None
        if not is_revision(digest, f"a manifest of {name} references manifest {digest}"):
            return None
        if not has_blob(digest):
            missing.add(digest)
            return None
        refs = manifests.get(digest, name)
        if refs is None:
            missing.add(digest)
            return None
        parsed[digest] = refs
        return refs

    for digest in repository.revisions:
        load(digest)
    present = [d for d in repository.revisions if d in parsed]
    for digest in sorted(set(repository.revisions) - set(present)):
        mark.notes.append(f"{name}: manifest {digest} has a revision link but no blob")

    if delete_untagged:
        roots = set(mark.tags.values())
        roots.update(d for d, mod_time in repository.revisions.items() if is_young(mod_time))
    else:
        roots = set(repository.revisions)
    reached = _closure(roots, load)
    if keep_referrers:
        reached = _with_referrers(reached, present, parsed, load)

    mark.survivors = {d for d in reached if d in repository.revisions}
    for digest in reached:
        mark.marked.add(digest)
        manifest = load(digest)
        if manifest is not None:
            mark.marked.update(manifest.blobs)
            if manifest.subject is not None and keep_referrers:
                mark.marked.add(manifest.subject)
    if delete_untagged:
        for digest in repository.revisions:
            if digest not in mark.survivors:
                mark.doomed[digest] = "untagged"
    return mark


def _fail_closed(
    exc: StorageDriverError, repository: str, digest: Digest
) -> GarbageCollectionError:
    """A second look that failed or found the listing incomplete, as GC's stop."""
    if isinstance(exc, GarbageCollectionError):
        return exc
    return GarbageCollectionError(str(exc), repository=repository, digest=str(digest))


def _closure(roots: Iterable[Digest], load: Callable[[Digest], ManifestRefs | None]) -> set[Digest]:
    """``roots`` and every manifest reachable from them through index/list children."""
    seen: set[Digest] = set()
    stack = list(roots)
    while stack:
        digest = stack.pop()
        if digest in seen:
            continue
        seen.add(digest)
        manifest = load(digest)
        if manifest is not None:
            stack.extend(manifest.children)
    return seen


def _with_referrers(
    reached: set[Digest],
    candidates: list[Digest],
    parsed: dict[Digest, ManifestRefs],
    load: Callable[[Digest], ManifestRefs | None],
) -> set[Digest]:
    """Add untagged manifests whose subject survives, until nothing more is added."""
    reached = set(reached)
    changed = True
    while changed:
        changed = False
        for digest in candidates:
            if digest in reached:
                continue
            subject = parsed[digest].subject
            if subject is not None and subject in reached:
                reached |= _closure([digest], load)
                changed = True
    return reached

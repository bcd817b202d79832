"""An inventory of a registry store, read with as few requests as the backend allows.

GC, fsck and migration all start by learning what a store holds: every blob with its size and
age, and for every repository its manifest revisions, tags, tag history and layer links with
their ages. One ``walk`` of ``blobs/`` and one of ``repositories/`` yield all of it -- a flat
listing per thousand objects on object stores, no request per file -- and the layout
(:mod:`distribution_storage.layout`) tells what each path means. A file where the layout has
none is kept as a *stray*, so fsck can report it and nothing else mistakes it for data.
Link *contents* are not read here: the directory names are the digests, and reading is left
to the tool that needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from distribution_storage.driver.contract import (
    Capability,
    FileInfo,
    StorageDriver,
    WalkPrune,
    read_workers,
)
from distribution_storage.driver.errors import (
    ListingInconsistentError,
    PathNotFoundError,
    StorageDriverError,
)
from distribution_storage.driver.flat_walk import SEPARATOR_ORDER, sort_key
from distribution_storage.driver.paths import components
from distribution_storage.layout import (
    BLOBS_ROOT,
    REPOSITORIES_ROOT,
    Digest,
    DigestTable,
    blob_data_path,
    digest_of_blob_data_path,
    is_valid_tag,
    layer_link_path,
    manifest_revision_link_path,
    manifests_root,
    split_repository_path,
    tag_current_link_path,
)
from distribution_storage.layout import ROOT as STORE_ROOT
from distribution_storage.progress import Progress, ProgressUpdate, no_progress
from distribution_storage.threads import map_threaded

DEFAULT_WORKERS = 8
"""Concurrent listings while taking an inventory."""


@dataclass(frozen=True, slots=True)
class BlobRecord:
    """One blob of the global blob store: its digest, size and last modification."""

    digest: Digest
    size: int
    mod_time: datetime


@dataclass
class RepositoryInventory:
    """What one repository's directory holds, by the layout's meaning of each path."""

    name: str
    has_manifests: bool = False
    """Whether ``_manifests`` exists: what makes the directory a repository in the catalog."""
    revisions: dict[Digest, datetime] = field(default_factory=dict)
    """Manifest revision links: digest -> modification time of the link."""
    tags: dict[str, datetime] = field(default_factory=dict)
    """Tags with a ``current/link``: tag -> modification time of that link."""
    tag_history: dict[str, set[Digest]] = field(default_factory=dict)
    """Tag ``index`` entries: tag -> every digest the tag has named."""
    layers: dict[Digest, datetime] = field(default_factory=dict)
    """Layer links: digest -> modification time of the link."""
    uploads: set[str] = field(default_factory=set)
    """Upload ids found under ``_uploads`` (only when asked to look there)."""
    strays: list[str] = field(default_factory=list)
    """Files inside the repository that the layout has no place for."""


@dataclass
class StoreInventory:
    """Every blob and every repository of a store."""

    blobs: dict[Digest, BlobRecord] = field(default_factory=dict)
    repositories: dict[str, RepositoryInventory] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)
    """Files under ``blobs/`` or ``repositories/`` outside any place the layout defines."""


class NotARegistryStoreError(StorageDriverError, FileNotFoundError):
    """The store has no ``/docker/registry/v2``: a wrong root, bucket or prefix."""

    def __init__(self, driver: str) -> None:
        super().__init__(
            f"not a registry store: {STORE_ROOT} does not exist "
            "(check rootdirectory, bucket or container)",
            driver=driver,
        )


def require_registry_store(driver: StorageDriver) -> None:
    """Raise :class:`NotARegistryStoreError` unless the layout's root exists."""
    try:
        info = driver.stat(STORE_ROOT)
    except PathNotFoundError:
        raise NotARegistryStoreError(driver.name) from None
    if not info.is_dir:
        raise NotARegistryStoreError(driver.name)


def _walk_if_present(
    driver: StorageDriver, root: str, prune: WalkPrune | None = None, details: bool = True
) -> Iterator[FileInfo]:
    try:
        yield from checked_walk(driver, root, prune=prune, details=details)
    except PathNotFoundError:
        return


def checked_walk(
    driver: StorageDriver, root: str, *, prune: WalkPrune | None = None, details: bool = True
) -> Iterator[FileInfo]:
    """A walk of ``root`` that is checked as it is consumed, and where it ends.

    Its order must be the contract's (:func:`checked_walk_order`), and once it ends a walk
    resumed after its last entry must find nothing more: a listing that ended early (a
    lost continuation token, a page that never came) shows as entries after the end, and
    raises :class:`ListingInconsistentError` naming ``root``. An entry written just then
    does too: a tool that deletes, or reports a store whole, stops rather than guess.
    """
    last = None
    for info in checked_walk_order(driver.walk(root, prune=prune, details=details), root):
        last = info.path
        yield info
    below = f"{last}/" if last is not None else None

    def passed(info: FileInfo) -> bool:  # the last entry's own subtree was walked or pruned
        return below is not None and info.path.startswith(below)

    def prune_resumed(info: FileInfo) -> bool:
        return passed(info) or (prune is not None and prune(info))

    for info in driver.walk(root, start_after=last, prune=prune_resumed, details=False):
        if passed(info):
            continue
        ended = f"ended at {last}" if last is not None else "came back empty"
        raise ListingInconsistentError(root, f"the listing {ended}, but {info.path} follows")


def checked_walk_order(entries: Iterable[FileInfo], root: str) -> Iterator[FileInfo]:
    """``entries`` of a walk of ``root``, checked to come in the contract's walk order.

    A walk promises depth-first byte order; one that breaks it (a backend that returned
    keys out of order, a page that did not continue where the last ended) raises
    :class:`ListingInconsistentError` naming ``root`` instead of being trusted.
    """
    previous = ""
    for info in entries:
        key = sort_key(info.path)
        if key <= previous:
            raise ListingInconsistentError(
                root, f"{info.path} came after {previous.replace(SEPARATOR_ORDER, '/')}"
            )
        previous = key
        yield info


def walk_parallel(
    driver: StorageDriver,
    root: str,
    *,
    split_depth: int,
    workers: int = DEFAULT_WORKERS,
    prune: WalkPrune | None = None,
    details: bool = True,
) -> Iterator[FileInfo]:
    """Every entry below ``root`` (a missing root has none), in no particular order.

    The directories ``split_depth`` levels below ``root`` are walked concurrently on
    ``workers`` threads (bounded by the driver's ``read_concurrency``) -- the 256
    ``blobs/sha256/<xx>`` prefixes, say -- so a store is listed by many requests at once on
    object stores. ``details`` is the walk's (False: sizes and times are not read).
    """
    base = len(components(root))
    subtrees: list[str] = []
    workers = read_workers(driver, workers)

    def split(info: FileInfo) -> bool:
        if prune is not None and prune(info):
            return True
        if len(components(info.path)) - base == split_depth:
            subtrees.append(info.path)
            return True
        return False

    yield from _walk_if_present(driver, root, split, details)
    if workers <= 1:  # stream each subtree rather than hold its listing
        for subtree in subtrees:
            yield from _walk_if_present(driver, subtree, prune, details)
        return
    walks = map_threaded(
        lambda top: list(_walk_if_present(driver, top, prune, details)), subtrees, workers
    )
    for entries in walks:
        yield from entries


def scan_blobs(
    driver: StorageDriver,
    *,
    progress: Progress = no_progress,
    strays: list[str] | None = None,
    workers: int = DEFAULT_WORKERS,
    digests: DigestTable | None = None,
) -> dict[Digest, BlobRecord]:
    """Every blob under ``blobs/``, by digest, walking its ``<alg>/<xx>`` prefixes at once;
    the digests are taken from ``digests`` when given (shared with another scan)."""
    blobs: dict[Digest, BlobRecord] = {}
    digests = digests if digests is not None else DigestTable()
    for info in walk_parallel(driver, BLOBS_ROOT, split_depth=2, workers=workers):
        if info.is_dir:
            continue
        digest = digest_of_blob_data_path(info.path, digests)
        if digest is None:
            if strays is not None:
                strays.append(info.path)
            continue
        blobs[digest] = BlobRecord(digest, info.size, info.mod_time)
        if len(blobs) % 1000 == 0:
            progress(ProgressUpdate("scanning blobs", len(blobs)))
    progress(ProgressUpdate("scanning blobs", len(blobs), len(blobs)))
    return blobs


def scan_blob_digests(
    driver: StorageDriver,
    *,
    progress: Progress = no_progress,
    workers: int = DEFAULT_WORKERS,
    digests: DigestTable | None = None,
) -> Mapping[Digest, BlobRecord | None]:
    """Every blob of the store, for a caller that needs the size and time of only a few.

    On a driver whose walk is served by flat listings (``FLAT_WALK``), the listing carries
    every blob's size and time anyway, and this is :func:`scan_blobs`. On one that lists
    directory by directory, the walk stops at each blob's ``<hex>`` directory -- one listing
    per ``<alg>/<xx>`` prefix instead of one per blob -- and the record is None:
    :func:`blob_record` reads it for the blobs that need it. ``digests`` as for
    :func:`scan_blobs`.
    """
    if Capability.FLAT_WALK in driver.capabilities:
        return scan_blobs(driver, progress=progress, workers=workers, digests=digests)
    digests = digests if digests is not None else DigestTable()
    blobs: dict[Digest, BlobRecord | None] = {}
    base = len(BLOBS_ROOT) + 1

    def is_blob_directory(info: FileInfo) -> bool:
        return info.path.count("/", base) == 2

    entries = walk_parallel(
        driver,
        BLOBS_ROOT,
        split_depth=2,
        workers=workers,
        prune=is_blob_directory,
        details=False,
    )
    for info in entries:
        parts = info.path[base:].split("/")
        is_blob = len(parts) == 3 and info.is_dir and parts[2][:2] == parts[1]
        if is_blob and (digest := digests.get(parts[0], parts[2])):
            blobs[digest] = None
            if len(blobs) % 1000 == 0:
                progress(ProgressUpdate("scanning blobs", len(blobs)))
    progress(ProgressUpdate("scanning blobs", len(blobs), len(blobs)))
    return blobs


def blob_record(driver: StorageDriver, digest: Digest) -> BlobRecord | None:
    """The size and time of one blob's data, or None if it has none."""
    try:
        info = driver.stat(blob_data_path(digest))
    except PathNotFoundError:
        return None
    return None if info.is_dir else BlobRecord(digest, info.size, info.mod_time)


def scan_repositories(
    driver: StorageDriver,
    *,
    include_uploads: bool = False,
    link_directories: bool = False,
    times: bool = True,
    roots_only: bool = False,
    progress: Progress = no_progress,
    strays: list[str] | None = None,
    workers: int = DEFAULT_WORKERS,
    digests: DigestTable | None = None,
) -> dict[str, RepositoryInventory]:
    """Every repository under ``repositories/`` with its links, from one walk; the
    digests are taken from ``digests`` when given (shared with the blob scan).

    A directory that holds only layer links (a first push still under way) is listed too,
    with ``has_manifests`` False: the catalog does not show it, but GC must see its links.
    Link directories are listed: distribution deletes a link by its file and leaves the
    directory, so an empty ``<alg>/<hex>`` directory links nothing.

    ``link_directories`` is GC's cheaper view, for a caller to whom an extra link costs
    nothing: on a driver that lists directory by directory (no ``FLAT_WALK``) and keeps
    directory times (``DIRECTORY_TIMES``: a filesystem), the directory of each layer link
    (``_layers/<alg>/<hex>``), tag (``tags/<tag>/current``) and tag history entry
    (``tags/<tag>/index/<alg>/<hex>``) is taken for its link, with the directory's time,
    and is not listed -- one listing per repository instead of one per layer, and two
    fewer per tag. An empty one then counts as a link: the directory's time is at least
    its link's, so a grace period keeps no less; deleting a link that is not there deletes
    nothing; and a tag whose link is missing names nothing when GC reads it. Revision links
    are always listed: an empty revision directory must not keep its manifest.

    ``times=False`` is for a caller that reads no modification time (GC with no grace
    period): a driver may then report each time as
    :data:`~distribution_storage.driver.contract.UNKNOWN_TIME`, and a filesystem stats nothing.

    ``roots_only`` is GC's second view of a store without a grace period: only what decides
    which manifests are roots -- repositories, tags and revisions -- is wanted. With
    ``link_directories`` on such a driver, revision directories are then taken for their
    links too, and layer links and tag histories are not listed at all (empty, so not to be
    compared).
    """
    repositories: dict[str, RepositoryInventory] = {}
    digests = digests if digests is not None else DigestTable()
    capabilities = driver.capabilities
    by_directory = (
        link_directories
        and Capability.DIRECTORY_TIMES in capabilities
        and Capability.FLAT_WALK not in capabilities
    )

    def prune(info: FileInfo) -> bool:
        split = split_repository_path(info.path)
        if split is None:
            return False
        rest = split[1]
        if rest == ["_uploads"]:
            return not include_uploads
        return by_directory and (_is_link_directory(rest) or (roots_only and _is_unwanted(rest)))

    entries = walk_parallel(
        driver, REPOSITORIES_ROOT, split_depth=2, workers=workers, prune=prune, details=times
    )
    for info in entries:
        split = split_repository_path(info.path)
        if split is None:
            if not info.is_dir and strays is not None:
                strays.append(info.path)
            continue
        name, rest = split
        repository = repositories.get(name)
        if repository is None:
            repository = repositories[name] = RepositoryInventory(name)
            progress(ProgressUpdate("scanning repositories", len(repositories)))
        if rest[0] == "_manifests":
            repository.has_manifests = True
        if rest[0] == "_uploads" and len(rest) >= 2 and include_uploads:
            repository.uploads.add(rest[1])
            continue
        if info.is_dir:
            if by_directory and (_is_link_directory(rest) or (roots_only and _is_revision(rest))):
                _record(repository, [*rest, "link"], info.mod_time, digests)
            continue
        if not _record(repository, rest, info.mod_time, digests):
            repository.strays.append(info.path)
            if strays is not None:
                strays.append(info.path)
    return dict(sorted(repositories.items()))


def _is_link_directory(rest: list[str]) -> bool:
    """Whether ``rest`` (relative to a repository) is the directory of a layer link, a tag's
    current link or a tag history entry."""
    match rest:
        case (
            ["_layers", _, _]
            | ["_manifests", "tags", _, "current"]
            | ["_manifests", "tags", _, "index", _, _]
        ):
            return True
    return False


def _is_revision(rest: list[str]) -> bool:
    """Whether ``rest`` (relative to a repository) is a manifest revision's directory."""
    return len(rest) == 4 and rest[:2] == ["_manifests", "revisions"]


def _is_unwanted(rest: list[str]) -> bool:
    """What a scan of roots only leaves unlisted: revision directories (taken for their
    links), layer links and tag histories."""
    return (
        _is_revision(rest)
        or rest == ["_layers"]
        or (len(rest) == 4 and rest[:2] == ["_manifests", "tags"] and rest[3] == "index")
    )


def _record(
    repository: RepositoryInventory, rest: list[str], mod_time: datetime, digests: DigestTable
) -> bool:
    """File ``rest`` (relative to the repository) into ``repository``; False for a stray."""
    match rest:
        case ["_manifests", "revisions", algorithm, hex_part, "link"]:
            if digest := digests.get(algorithm, hex_part):
                repository.revisions[digest] = mod_time
                return True
        case ["_manifests", "tags", tag, "current", "link"] if is_valid_tag(tag):
            repository.tags[tag] = mod_time
            return True
        case ["_manifests", "tags", tag, "index", algorithm, hex_part, "link"] if is_valid_tag(tag):
            if digest := digests.get(algorithm, hex_part):
                repository.tag_history.setdefault(tag, set()).add(digest)
                return True
        case ["_layers", algorithm, hex_part, "link"]:
            if digest := digests.get(algorithm, hex_part):
                repository.layers[digest] = mod_time
                return True
        case ["_uploads", *_]:
            return True
    return False


def scan_store(
    driver: StorageDriver,
    *,
    include_uploads: bool = False,
    progress: Progress = no_progress,
    workers: int = DEFAULT_WORKERS,
) -> StoreInventory:
    """The blobs and repositories of the store behind ``driver``."""
    inventory = StoreInventory()
    digests = DigestTable()
    inventory.blobs = scan_blobs(
        driver, progress=progress, strays=inventory.strays, workers=workers, digests=digests
    )
    inventory.repositories = scan_repositories(
        driver,
        include_uploads=include_uploads,
        progress=progress,
        strays=inventory.strays,
        workers=workers,
        digests=digests,
    )
    return inventory


def compare_scans(
    driver: StorageDriver,
    first: dict[str, RepositoryInventory],
    second: dict[str, RepositoryInventory],
    is_new: Callable[[datetime], bool],
    listed: str,
    *,
    layers: bool = True,
) -> None:
    """Check a second scan of the repositories against the first, as a second view.

    What the second scan lacks must really be gone, and what it adds must be new
    (``is_new`` of its time: written since the first scan, or younger than a grace period
    that protects it anyway) or not there at all (an empty link directory); each is
    stat'ed to tell. Anything else means one of the two listings of ``listed`` was
    incomplete: :class:`ListingInconsistentError`. ``layers=False`` leaves layer links out
    (a second scan that did not list them).
    """
    for name, old in first.items():
        new = second.get(name)
        if new is None or (old.has_manifests and not new.has_manifests):
            look_again(
                driver, manifests_root(name), _never_young, listed=listed, what=f"repository {name}"
            )
            continue
        for digest in old.revisions.keys() - new.revisions.keys():
            path = manifest_revision_link_path(name, digest)
            look_again(driver, path, _never_young, listed=listed, what=f"{name}: manifest {digest}")
        for tag in old.tags.keys() - new.tags.keys():
            path = tag_current_link_path(name, tag)
            look_again(driver, path, _never_young, listed=listed, what=f"{name}: tag {tag}")
        for digest in (old.layers.keys() - new.layers.keys()) if layers else ():
            path = layer_link_path(name, digest)
            look_again(driver, path, _never_young, listed=listed, what=f"{name}: layer {digest}")
    for name, new in second.items():
        before = first.get(name) or RepositoryInventory(name)
        appeared: list[tuple[str, str, datetime]] = [
            (f"manifest {d}", manifest_revision_link_path(name, d), t)
            for d, t in new.revisions.items()
            if d not in before.revisions
        ]
        appeared.extend(
            (f"tag {tag}", tag_current_link_path(name, tag), t)
            for tag, t in new.tags.items()
            if tag not in before.tags
        )
        if layers:
            appeared.extend(
                (f"layer {d}", layer_link_path(name, d), t)
                for d, t in new.layers.items()
                if d not in before.layers
            )
        for what, path, mod_time in appeared:
            if not is_new(mod_time):
                look_again(driver, path, is_new, listed=listed, what=f"{name}: {what}")


def look_again(
    driver: StorageDriver,
    path: str,
    is_young: Callable[[datetime], bool],
    *,
    listed: str,
    what: str,
) -> FileInfo | None:
    """Stat ``path``, which a listing of ``listed`` did not show, as a second view.

    None if it is indeed absent; its info if ``is_young`` of its time (written since the
    listing, or protected by a grace period anyway); otherwise the listing should have shown
    it, and :class:`ListingInconsistentError` names ``listed``. ``what`` says what the path is.
    """
    try:
        info = driver.stat(path)
    except PathNotFoundError:
        return None
    if is_young(info.mod_time):
        return info
    raise ListingInconsistentError(
        listed,
        f"{what}: {path} exists (modified {info.mod_time:%Y-%m-%dT%H:%M:%SZ}) "
        "but the listing did not show it",
    )


def _never_young(_mod_time: datetime) -> bool:
    return False

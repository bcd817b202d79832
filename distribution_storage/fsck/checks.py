"""fsck: check a store against distribution's layout, read-only.

The store is opened behind :class:`ReadOnlyDriver`, so no check can change it. One inventory
(:mod:`distribution_storage.inventory`) gives every blob and link; then, in a bounded thread
pool, every repository's links are read and compared with their directory names, every
manifest is read, checked against its digest and parsed, and everything it references must
exist (blobs linked into the repository, index children among its manifests); every tag
must name a stored manifest of its repository. Unless told not to, every blob's content is
hashed and compared with its digest. Files where the layout has none are damage; abandoned
uploads and blobs nothing references are notes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from distribution_storage.driver.contract import StorageDriver, read_workers
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError
from distribution_storage.driver.middleware.readonly import ReadOnlyDriver
from distribution_storage.driver.wrapper import validated
from distribution_storage.fsck.report import Finding, FsckReport
from distribution_storage.inventory import (
    BlobRecord,
    RepositoryInventory,
    compare_scans,
    require_registry_store,
    scan_blobs,
    scan_repositories,
)
from distribution_storage.layout import (
    REPOSITORIES_ROOT,
    Digest,
    blob_data_path,
    check_name,
    layer_link_path,
    manifest_revision_link_path,
    parse_link,
    tag_current_link_path,
    tag_index_link_path,
    upload_started_at_path,
)
from distribution_storage.progress import Progress, ProgressUpdate, no_progress
from distribution_storage.registry.blobs import BlobStore
from distribution_storage.registry.errors import (
    BlobUnknownError,
    NameUnknownError,
    RegistryError,
    StoredManifestCorruptError,
)
from distribution_storage.registry.manifests import MAX_MANIFEST_SIZE, parse_stored_manifest
from distribution_storage.registry.registry import Registry
from distribution_storage.threads import map_threaded

CHUNK = 1 << 20
DEFAULT_WORKERS = 8
CLOCK_STEP = timedelta(seconds=1)
"""Modification times are whole seconds on some backends (S3): what changed within the
second the first listing began counts as changed since."""


@dataclass
class _RepositoryCheck:
    findings: list[Finding] = field(default_factory=list)
    referenced: set[Digest] = field(default_factory=set)


def fsck(
    target: Registry | StorageDriver,
    *,
    repository: str | None = None,
    verify_content: bool = True,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = no_progress,
) -> FsckReport:
    """Check the store (or one repository of it) and report every finding; never writes."""
    started = time.monotonic()
    base = target.driver if isinstance(target, Registry) else validated(target)
    driver = ReadOnlyDriver(base)
    report = FsckReport()
    require_registry_store(driver)
    strays: list[str] = []
    listed_since = datetime.now(UTC) - CLOCK_STEP
    blobs = scan_blobs(driver, progress=progress, strays=strays, workers=workers)
    repositories = scan_repositories(
        driver, include_uploads=True, progress=progress, strays=strays, workers=workers
    )
    # A second view before any verdict: a repository one listing missed would otherwise
    # go unchecked and the store be called whole.
    compare_scans(
        driver,
        repositories,
        scan_repositories(driver, include_uploads=True, workers=workers),
        lambda mod_time: mod_time >= listed_since,
        REPOSITORIES_ROOT,
    )
    if repository is not None:
        check_name(repository)
        if repository not in repositories:
            raise NameUnknownError(repository)
        repositories = {repository: repositories[repository]}
        strays = [p for p in strays if f"/repositories/{repository}/" in p]
    report.findings.extend(
        Finding("damage", "stray-file", path=path, detail="no such file in the layout")
        for path in strays
    )

    def check(repo: RepositoryInventory) -> _RepositoryCheck:
        return _check_repository(driver, repo, blobs)

    referenced: set[Digest] = set()
    checks = map_threaded(check, repositories.values(), read_workers(driver, workers))
    for index, result in enumerate(checks, 1):
        report.findings.extend(result.findings)
        referenced |= result.referenced
        progress(ProgressUpdate("checking repositories", index, len(repositories)))
    to_verify = (
        blobs.values()
        if repository is None
        else [blobs[d] for d in sorted(referenced) if d in blobs]
    )
    if verify_content:  # hashing gains from threads on every driver
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            _verify_blobs(driver, to_verify, pool, report, progress)
    if repository is None:
        report.findings.extend(
            Finding("note", "blob-unreferenced", digest=str(d), detail="GC would delete it")
            for d in sorted(set(blobs) - referenced)
        )
    report.repositories = sum(1 for r in repositories.values() if r.has_manifests)
    report.manifests = sum(len(r.revisions) for r in repositories.values())
    report.blobs = len(blobs)
    report.findings.sort()
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _read_link(driver: StorageDriver, path: str) -> Digest | str:
    """The digest a link file names, or a description of what is wrong with it."""
    try:
        content = driver.get_content(path)
    except PathNotFoundError:
        return "the link vanished while checking"
    try:
        return parse_link(content)
    except ValueError:
        return f"malformed content {content[:80]!r}"


def _check_repository(
    driver: StorageDriver, repo: RepositoryInventory, blobs: dict[Digest, BlobRecord]
) -> _RepositoryCheck:
    name = repo.name
    result = _RepositoryCheck()
    store = BlobStore(driver)

    def damage(kind: str, detail: str, digest: Digest | str = "", path: str = "") -> None:
        result.findings.append(Finding("damage", kind, name, str(digest), path, detail))

    def note(kind: str, detail: str, digest: Digest | str = "") -> None:
        result.findings.append(Finding("note", kind, name, str(digest), "", detail))

    def link(path: str, expected: Digest | None) -> Digest | None:
        target = _read_link(driver, path)
        if isinstance(target, str):
            damage("link-malformed", target, expected or "", path)
            return None
        if expected is not None and target != expected:
            damage("link-mismatch", f"names {target}", expected, path)
            return None
        return target

    for digest in sorted(repo.revisions):
        result.referenced.add(digest)
        if link(manifest_revision_link_path(name, digest), digest) is None:
            continue
        record = blobs.get(digest)
        if record is None:
            damage("manifest-missing", "revision link to a blob that is not stored", digest)
            continue
        _check_manifest(store, repo, record, blobs, result, damage, note)
    for tag in sorted(repo.tags):
        target = link(tag_current_link_path(name, tag), None)
        if target is None:
            continue
        result.referenced.add(target)
        if target not in repo.revisions or target not in blobs:
            damage("tag-dangling", f"tag {tag} names a manifest that is not here", target)
    for tag, history in sorted(repo.tag_history.items()):
        for digest in sorted(history):
            if (
                link(tag_index_link_path(name, tag, digest), digest)
                and digest not in repo.revisions
            ):
                note("tag-history-stale", f"tag {tag} history names a deleted manifest", digest)
    for digest in sorted(repo.layers):
        result.referenced.add(digest)
        if link(layer_link_path(name, digest), digest) and digest not in blobs:
            # distribution's own GC leaves these: the blob answers 404 and a push restores
            # it. A manifest that needs the blob is damage of its own (blob-missing).
            note("layer-link-dangling", "layer link to a blob that is not stored", digest)
    for upload in sorted(repo.uploads):
        try:
            started = driver.get_content(upload_started_at_path(name, upload)).decode()
        except (PathNotFoundError, UnicodeDecodeError):
            started = "an unknown time"
        note("upload", f"upload {upload} started at {started}")
    return result


def _check_manifest(
    store: BlobStore,
    repo: RepositoryInventory,
    record: BlobRecord,
    blobs: dict[Digest, BlobRecord],
    result: _RepositoryCheck,
    damage: Callable[..., None],
    note: Callable[..., None],
) -> None:
    digest = record.digest
    try:
        payload = store.get(digest, max_size=MAX_MANIFEST_SIZE, size=record.size)
    except BlobUnknownError:
        damage("manifest-missing", "blob vanished while checking", digest)
        return
    except ValueError:
        damage("manifest-invalid", f"{record.size} bytes, over the 4 MiB limit", digest)
        return
    try:
        parsed = parse_stored_manifest(digest, payload)
    except StoredManifestCorruptError:
        damage("blob-corrupt", "manifest content does not match its digest", digest)
        return
    except RegistryError as exc:
        damage("manifest-invalid", exc.detail, digest)
        return
    for reference in parsed.blobs:
        result.referenced.add(reference.digest)
        if reference.urls:
            continue  # a foreign layer lives elsewhere
        if reference.digest not in blobs:
            damage("blob-missing", f"references blob {reference.digest}, not stored", digest)
        elif reference.digest not in repo.layers:
            damage("layer-unlinked", f"references blob {reference.digest}, not linked", digest)
    for child in parsed.manifests:
        result.referenced.add(child.digest)
        if child.digest not in repo.revisions:
            damage("child-missing", f"index child {child.digest} is not a manifest here", digest)
    if parsed.subject is not None and parsed.subject.digest not in repo.revisions:
        note("subject-missing", f"referrer of {parsed.subject.digest}, which is not here", digest)


def _verify_blobs(
    driver: StorageDriver,
    records: Iterable[BlobRecord],
    pool: ThreadPoolExecutor,
    report: FsckReport,
    progress: Progress,
) -> None:
    records = list(records)

    def verify(record: BlobRecord) -> Finding | None:
        hasher = record.digest.hasher()
        try:
            with driver.reader(blob_data_path(record.digest)) as stream:
                while chunk := stream.read(CHUNK):
                    hasher.update(chunk)
        except PathNotFoundError:
            return None  # deleted while checking: not damage
        except StorageDriverError as exc:
            return Finding("damage", "blob-unreadable", digest=str(record.digest), detail=str(exc))
        actual = Digest.from_hash(hasher)
        if actual != record.digest:
            return Finding(
                "damage", "blob-corrupt", digest=str(record.digest), detail=f"content is {actual}"
            )
        return None

    for index, finding in enumerate(pool.map(verify, records), 1):
        report.blobs_verified += 1
        report.bytes_verified += records[index - 1].size
        if finding is not None:
            report.findings.append(finding)
        progress(ProgressUpdate("verifying blobs", index, len(records), report.bytes_verified))

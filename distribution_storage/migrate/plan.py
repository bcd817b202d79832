"""What a migration copies: both stores listed, and the difference between them.

Each side is listed with two walks -- ``blobs/`` through the inventory
(:func:`distribution_storage.inventory.scan_blobs`, one walk with every blob's size) and
``repositories/`` as files with their sizes, each classified by the layout (revision link,
tag link, tag index link, layer link, upload file, or other). ``_uploads`` is pruned unless
uploads are asked for. The :class:`Plan` then says which blobs are missing from the target
(or there with another size), which repository files are missing or differ in size, which
have the same size and must have their content compared, and, for ``delete_extraneous``,
what the target holds that the source lacks. Nothing is read here but listings: a layer,
revision or tag index link holds the digest its own path names, so one present in the target
with that digest's length is taken as present without reading either side (a second run
reads only tag links, whose content a push may change without changing their size).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from distribution_storage.driver.contract import FileInfo, StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.inventory import BlobRecord, checked_walk, scan_blobs
from distribution_storage.layout import (
    REPOSITORIES_ROOT,
    Digest,
    DigestInvalidError,
    is_valid_tag,
    split_repository_path,
)
from distribution_storage.progress import Progress, ProgressUpdate, no_progress

BLOB = "blob"
REVISION_LINK = "revision-link"
TAG_LINK = "tag-link"
TAG_INDEX_LINK = "tag-index-link"
LAYER_LINK = "layer-link"
UPLOAD = "upload"
OTHER = "other"
LINK_KINDS = frozenset({REVISION_LINK, TAG_LINK, TAG_INDEX_LINK, LAYER_LINK})
PATH_NAMED_LINKS = frozenset({REVISION_LINK, TAG_INDEX_LINK, LAYER_LINK})
"""Links whose content is the digest named by their own path."""
COPY_ORDER = (LAYER_LINK, REVISION_LINK, TAG_INDEX_LINK, TAG_LINK, UPLOAD, OTHER)
"""Repository files are written in this order: a tag appears only after its revision."""


@dataclass(frozen=True, slots=True)
class RepoFile:
    """One file below ``repositories/``: its path, size, layout kind and repository."""

    path: str
    size: int
    kind: str
    repository: str


@dataclass
class StoreListing:
    """Every blob and every repository file of one store."""

    blobs: dict[Digest, BlobRecord] = field(default_factory=dict)
    files: dict[str, RepoFile] = field(default_factory=dict)

    @property
    def repositories(self) -> set[str]:
        """The names of the repositories that hold at least one listed file."""
        return {f.repository for f in self.files.values()}

    @property
    def empty(self) -> bool:
        """True when the store holds no blob and no repository file."""
        return not self.blobs and not self.files


@dataclass
class Plan:
    """The difference between a source and a target listing."""

    blobs_to_copy: list[BlobRecord] = field(default_factory=list)
    blobs_present: list[BlobRecord] = field(default_factory=list)
    files_to_copy: list[RepoFile] = field(default_factory=list)
    files_to_compare: list[RepoFile] = field(default_factory=list)
    """Present in the target with the same size: copied only if the content differs."""
    files_present: list[RepoFile] = field(default_factory=list)
    """Links whose path names their content, present in the target with that content's size."""
    extraneous_files: list[RepoFile] = field(default_factory=list)
    extraneous_repositories: list[str] = field(default_factory=list)
    extraneous_blobs: list[BlobRecord] = field(default_factory=list)


def classify(parts: list[str]) -> str:
    """The layout kind of a file at ``parts`` (relative to its repository directory)."""
    match parts:
        case ["_manifests", "revisions", _, _, "link"]:
            return REVISION_LINK
        case ["_manifests", "tags", tag, "current", "link"] if is_valid_tag(tag):
            return TAG_LINK
        case ["_manifests", "tags", tag, "index", _, _, "link"] if is_valid_tag(tag):
            return TAG_INDEX_LINK
        case ["_layers", _, _, "link"]:
            return LAYER_LINK
        case ["_uploads", *_]:
            return UPLOAD
    return OTHER


def named_link_size(item: RepoFile) -> int | None:
    """The size of a layer, revision or tag index link, whose content is the digest its
    path names (``sha256:<hex>``: 71 bytes); None for other files and tag links, whose
    content has to be read to be compared."""
    if item.kind not in PATH_NAMED_LINKS:
        return None
    algorithm, hex_part = item.path.rsplit("/", 3)[1:3]
    try:
        return len(str(Digest.parse(f"{algorithm}:{hex_part}")))
    except DigestInvalidError:
        return None


def _walk(driver: StorageDriver, include_uploads: bool) -> Iterator[FileInfo]:
    def prune(info: FileInfo) -> bool:
        split = split_repository_path(info.path)
        return not include_uploads and split is not None and split[1] == ["_uploads"]

    try:
        yield from checked_walk(driver, REPOSITORIES_ROOT, prune=prune)
    except PathNotFoundError:
        return


def scan_repository_files(
    driver: StorageDriver, *, include_uploads: bool = False, progress: Progress = no_progress
) -> dict[str, RepoFile]:
    """Every file below ``repositories/`` (``_uploads`` only with ``include_uploads``)."""
    files: dict[str, RepoFile] = {}
    for info in _walk(driver, include_uploads):
        if info.is_dir:
            continue
        # a file outside any repository's reserved directories belongs to none ("")
        name, rest = split_repository_path(info.path) or ("", [])
        files[info.path] = RepoFile(info.path, info.size, classify(rest), name)
        if len(files) % 1000 == 0:
            progress(ProgressUpdate("scanning repositories", len(files)))
    return files


def list_store(
    driver: StorageDriver, *, include_uploads: bool = False, progress: Progress = no_progress
) -> StoreListing:
    """The blobs and repository files of the store behind ``driver``: two walks."""
    return StoreListing(
        blobs=scan_blobs(driver, progress=progress),
        files=scan_repository_files(driver, include_uploads=include_uploads, progress=progress),
    )


def make_plan(source: StoreListing, target: StoreListing, *, delete_extraneous: bool) -> Plan:
    """What to copy from ``source`` to ``target`` (and delete from it, if asked)."""
    plan = Plan()
    for digest, record in sorted(source.blobs.items()):
        there = target.blobs.get(digest)
        if there is not None and there.size == record.size:
            plan.blobs_present.append(record)
        else:
            plan.blobs_to_copy.append(record)
    order = {kind: index for index, kind in enumerate(COPY_ORDER)}
    for path, item in sorted(source.files.items(), key=lambda kv: (order[kv[1].kind], kv[0])):
        there_file = target.files.get(path)
        if there_file is not None and there_file.size == item.size:
            if item.size == named_link_size(item):
                plan.files_present.append(item)
            else:
                plan.files_to_compare.append(item)
        else:
            plan.files_to_copy.append(item)
    if delete_extraneous:
        gone = sorted(target.repositories - source.repositories - {""})
        plan.extraneous_repositories = gone
        missing = set(gone)
        plan.extraneous_files = [
            item
            for path, item in sorted(target.files.items())
            if path not in source.files and item.repository not in missing
        ]
        plan.extraneous_blobs = [
            record for digest, record in sorted(target.blobs.items()) if digest not in source.blobs
        ]
    return plan

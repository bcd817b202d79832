"""Migrations between the local drivers: round trips compared byte for byte, dry runs,
second runs that copy nothing, uploads only on request, extraneous objects removed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from migrate_support import fill, tree, without_uploads

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.layout import ROOT
from distribution_storage.migrate import STAGING_ROOT, MigrationError, SameStoreError, migrate
from distribution_storage.registry import Registry

Factory = Callable[[str], StorageDriver]


def test_inmemory_to_filesystem_and_back_is_byte_for_byte(fs_store: Factory) -> None:
    source = open_driver("inmemory")
    fill(source, big=3 * 2**20 + 17)
    middle = fs_store("middle")
    first = migrate(source, middle, include_uploads=True)
    assert first.failed == 0
    assert tree(middle) == tree(source)
    final = open_driver("inmemory")
    back = migrate(middle, final, include_uploads=True, workers=3)
    assert tree(final) == tree(source)
    assert back.copied == first.copied
    assert back.bytes == first.bytes
    assert first.copied_by_kind["upload"] >= 2  # data and startedat of the abandoned upload


def test_filesystem_to_filesystem_report_counts_and_second_run(fs_store: Factory) -> None:
    source, target = fs_store("a"), fs_store("b")
    fill(source)
    files = tree(source)
    blobs = [p for p in files if p.startswith(f"{ROOT}/blobs/")]
    links = [p for p in without_uploads(files) if p.startswith(f"{ROOT}/repositories/")]
    report = migrate(source, target)
    assert report.copied == len(blobs) + len(links)
    assert report.copied_by_kind["blob"] == len(blobs)
    assert report.bytes == sum(len(files[p]) for p in blobs + links)
    assert report.skipped == 0
    assert tree(target) == without_uploads(files)  # uploads left behind unless asked
    assert report.operations["target"].get("put_content", 0) == len(links)
    again = migrate(source, target)
    assert (again.copied, again.bytes, again.failed) == (0, 0, 0)
    assert again.skipped == report.copied
    assert "writer" not in again.operations["target"]
    assert "put_content" not in again.operations["target"]
    # only tag links are read (on both sides): the other links hold the digest of their path
    tags = [p for p in links if p.endswith("/current/link")]
    assert again.operations["target"]["get_content"] == len(tags)
    assert again.operations["source"]["get_content"] == len(tags)


def test_dry_run_counts_what_a_real_run_copies_and_writes_nothing(fs_store: Factory) -> None:
    source, target = fs_store("a"), fs_store("b")
    fill(source)
    half = open_driver("inmemory")
    registry = Registry(source)
    # A target that already holds part of the store: one repository's worth.
    for path, data in tree(source).items():
        if "/team1/" in path or "/blobs/" in path:
            half.put_content(path, data)
    migrate(half, target)
    before = tree(target)
    dry = migrate(source, target, dry_run=True)
    assert tree(target) == before
    real = migrate(source, target)
    assert (dry.copied, dry.bytes, dry.skipped) == (real.copied, real.bytes, real.skipped)
    assert dry.copied_by_kind == real.copied_by_kind
    assert dry.copied > 0 and dry.skipped > 0
    assert registry.catalog() == Registry(target).catalog()


def test_a_changed_tag_is_copied_again(fs_store: Factory) -> None:
    source, target = fs_store("a"), fs_store("b")
    fill(source)
    migrate(source, target)
    repo = Registry(source).repository("team0/service")
    v0 = repo.resolve("v0")
    repo.tags.tag("latest", v0)  # same size link, different content
    report = migrate(source, target)
    assert report.copied_by_kind == {"tag-link": 1}
    assert Registry(target).repository("team0/service").resolve("latest") == v0
    assert tree(target) == without_uploads(tree(source))


def test_delete_extraneous_removes_links_and_blobs_the_source_lacks(fs_store: Factory) -> None:
    source, target = fs_store("a"), fs_store("b")
    fill(source)
    other = open_driver("inmemory")
    fill(other, repositories=5)
    migrate(other, target)
    stale = Registry(target).repository("team0/service")
    stale.tags.tag("stale", stale.resolve("v0"))
    dry = migrate(source, target, delete_extraneous=True, dry_run=True)
    assert dry.deleted > 0
    report = migrate(source, target, delete_extraneous=True)
    assert report.deleted == dry.deleted
    assert report.deleted_by_kind.get("repository", 0) == 2  # team3, team4
    assert tree(target) == without_uploads(tree(source))
    ours, theirs = Registry(source), Registry(target)
    assert ours.catalog() == theirs.catalog()
    for name in ours.catalog():  # tags are listed from directories: "stale" is gone whole
        assert theirs.repository(name).tags.list() == ours.repository(name).tags.list()
    again = migrate(source, target, delete_extraneous=True)
    assert (again.copied, again.deleted) == (0, 0)


def test_same_store_is_refused(fs_store: Factory) -> None:
    source = fs_store("a")
    fill(source)
    with pytest.raises(SameStoreError, match="same"):
        migrate(source, source)
    with pytest.raises(SameStoreError, match="same filesystem store"):
        migrate(source, fs_store("a"))
    with pytest.raises(SameStoreError):
        migrate(source, fs_store("a/docker/registry/v2/repositories/nested"))


def test_an_empty_source_is_refused(fs_store: Factory) -> None:
    target = fs_store("b")
    fill(target)
    before = tree(target)
    with pytest.raises(MigrationError, match="no registry data"):
        migrate(fs_store("nothing-here"), target, delete_extraneous=True)
    assert tree(target) == before


def test_workers_must_be_positive(fs_store: Factory) -> None:
    with pytest.raises(MigrationError, match="workers"):
        migrate(fs_store("a"), fs_store("b"), workers=0)


def test_no_staging_left_behind(fs_store: Factory) -> None:
    source, target = fs_store("a"), fs_store("b")
    fill(source, big=2**20)
    report = migrate(source, target)
    assert tree(target, STAGING_ROOT) == {}
    assert report.operations["target"]["delete"] == 1  # the staging area, swept once


def test_progress_reports_blobs_and_bytes_and_registries_are_accepted(fs_store: Factory) -> None:
    from distribution_storage.progress import ProgressUpdate

    source, target = fs_store("a"), fs_store("b")
    fill(source, big=9 * 2**20)
    updates: list[ProgressUpdate] = []
    report = migrate(Registry(source), Registry(target), progress=updates.append, workers=2)
    blobs = [u for u in updates if u.phase == "copying blobs"]
    assert blobs[-1].done == blobs[-1].total == report.copied_by_kind["blob"]
    assert blobs[-1].bytes_done == sum(
        len(data) for path, data in tree(target).items() if "/blobs/" in path
    )
    assert any(u.detail.startswith("eta ") for u in blobs)
    assert any(u.phase == "copying tag-links" for u in updates)


def test_tags_named_like_reserved_directories_are_copied(fs_store: Factory) -> None:
    """A tag may be called ``_uploads`` or ``_layers``: it is a tag, copied with its history,
    while the repository's real ``_uploads`` stays behind."""
    source, target = fs_store("a"), fs_store("b")
    fill(source, repositories=1)
    repo = Registry(source).repository("team0/service")
    latest = repo.tags.get("latest")
    repo.tags.tag("_uploads", latest)
    repo.tags.tag("_layers", latest)
    files = tree(source)
    reserved_tags = [p for p in files if "/tags/_uploads/" in p or "/tags/_layers/" in p]
    assert len(reserved_tags) == 4  # current and one history entry each
    migrate(source, target)
    copied = tree(target)
    assert all(copied[path] == files[path] for path in reserved_tags)
    assert any("/service/_uploads/" in path for path in files)
    assert not any("/service/_uploads/" in path for path in copied)
    assert Registry(target).repository("team0/service").tags.get("_uploads") == latest

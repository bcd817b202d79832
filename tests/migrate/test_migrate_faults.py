"""Migrations that go wrong: a backend failing midway then a resumed run, a corrupted
source blob, a target refusing writes, and server-side copy through ``copy_from``."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import pytest
from migrate_support import check_consistent, fill, tree, without_uploads

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.driver.middleware.faults import FaultInjectingDriver, InjectedFaultError
from distribution_storage.drivers.inmemory import InMemoryDriver
from distribution_storage.inventory import scan_blobs
from distribution_storage.layout import blob_data_path, layer_link_path
from distribution_storage.migrate import migrate
from distribution_storage.registry import Registry

Factory = Callable[[str], StorageDriver]


@pytest.mark.parametrize("after", [3, 40, 90])
@pytest.mark.parametrize(
    "verbs", [("write", "commit", "put_content", "move"), ("read", "get_content")]
)
def test_interrupted_by_failing_backend_then_resumed(
    fs_store: Factory, after: int, verbs: tuple[str, ...]
) -> None:
    source, target = fs_store("a"), fs_store("b")
    fill(source, big=1 << 20)
    side = "target" if "write" in verbs else "source"
    raw_target = target
    if side == "target":
        target = FaultInjectingDriver(target, verbs=verbs, fail_after=after)
    else:
        source = FaultInjectingDriver(source, verbs=verbs, fail_after=after)
    with pytest.raises(InjectedFaultError):
        migrate(source, target, workers=4)
    copied_before = check_consistent(raw_target)
    clean_source = source.inner if isinstance(source, FaultInjectingDriver) else source
    resumed = migrate(clean_source, raw_target, workers=4)
    assert resumed.failed == 0
    assert resumed.skipped_by_kind.get("blob", 0) >= copied_before - 1
    assert tree(raw_target) == without_uploads(tree(clean_source))
    check_consistent(raw_target)


def test_corrupted_source_blob_is_reported_and_not_copied(fs_store: Factory) -> None:
    source, target = fs_store("a"), fs_store("b")
    fill(source)
    registry = Registry(source)
    repo = registry.repository("team1/service")
    manifest = repo.manifests.get(repo.resolve("latest"))
    layer = manifest.parsed.blobs[-1].digest
    good = source.get_content(blob_data_path(layer))
    source.put_content(blob_data_path(layer), bytes([good[0] ^ 1]) + good[1:])
    report = migrate(source, target)
    assert [f.path for f in report.failures if f.kind == "blob"] == [str(layer)]
    assert "hashes to" in report.failures[0].reason or "hashes to" in report.failures[1].reason
    assert layer not in scan_blobs(target)
    # its layer link is not written either: a link never names a missing blob
    assert any(f.path == layer_link_path("team1/service", layer) for f in report.failures)
    check_consistent(target)
    source.put_content(blob_data_path(layer), good)  # repaired: the next run completes
    fixed = migrate(source, target)
    assert fixed.failed == 0
    assert fixed.copied_by_kind.get("blob") == 1
    assert tree(target) == without_uploads(tree(source))


def test_truncated_reads_are_caught_by_verification(fs_store: Factory) -> None:
    source, target = fs_store("a"), fs_store("b")
    fill(source, big=1 << 20)
    short = FaultInjectingDriver(source, truncate_reads=1000)
    report = migrate(short, target)
    big = [f for f in report.failures if f.kind == "blob"]
    assert big and all("hashes to" in f.reason or "read" in f.reason for f in big)
    check_consistent(target)


def test_a_target_refusing_writes_stops_with_an_error(fs_store: Factory) -> None:
    source = fs_store("a")
    fill(source)
    refusing = FaultInjectingDriver(
        open_driver("inmemory"), verbs=("writer", "put_content"), fail_rate=1.0
    )
    with pytest.raises(StorageDriverError, match="injected fault"):
        migrate(source, refusing)
    assert tree(refusing.inner) == {}


class ServiceDriver(InMemoryDriver):
    """An in-memory "service" whose instances copy between each other server-side when they
    share an account, as an object store copies between buckets of one account."""

    def __init__(self, account: str) -> None:
        super().__init__()
        self.account = account
        self.copies = 0

    def copy_from(self, source: StorageDriver, source_path: str, dest_path: str) -> bool:
        if not isinstance(source, ServiceDriver) or source.account != self.account:
            return False
        self.put_content(dest_path, source.get_content(source_path))
        self.copies += 1
        return True


def test_server_side_copy_within_one_account() -> None:
    source, target = ServiceDriver("acme"), ServiceDriver("acme")
    fill(source)
    report = migrate(source, target)
    blobs = len(scan_blobs(source))
    assert report.server_side_copies == blobs == target.copies
    assert tree(target) == without_uploads(tree(source))


def test_streams_across_accounts() -> None:
    source, target = ServiceDriver("acme"), ServiceDriver("other")
    fill(source)
    report = migrate(source, target)
    assert report.server_side_copies == 0 == target.copies
    assert report.copied_by_kind["blob"] == len(scan_blobs(source))
    assert tree(target) == without_uploads(tree(source))


def test_server_side_copy_still_verifies_the_source() -> None:
    source, target = ServiceDriver("acme"), ServiceDriver("acme")
    digests = fill(source)
    orphan = digests[-1]
    source.put_content(blob_data_path(orphan), b"not the orphan layer")
    report = migrate(source, target)
    assert sorted(f.path for f in report.failures) == [
        layer_link_path("big/one", orphan),
        str(orphan),
    ]
    assert orphan not in scan_blobs(target)
    check_consistent(target)


class DeletingWhileRead(DelegatingDriver):
    """A source whose registry deletes one blob and its link right after the listing."""

    def __init__(self, inner: StorageDriver, blob: str, link: str) -> None:
        super().__init__(inner)
        self.doomed = (blob, link)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        if path == self.doomed[0]:
            for gone in self.doomed:
                self.inner.delete(gone)
        return self.inner.reader(path, offset)


def test_objects_deleted_by_a_live_registry_are_noted_not_failed(fs_store: Factory) -> None:
    source, target = fs_store("a"), fs_store("b")
    orphan = fill(source)[-1]
    live = DeletingWhileRead(source, blob_data_path(orphan), layer_link_path("big/one", orphan))
    report = migrate(live, target, workers=1)
    assert (report.failed, report.vanished) == (0, 2)
    assert any(str(orphan) in note for note in report.notes)
    assert tree(target) == without_uploads(tree(source))

"""GC, fsck and migrate on a backend whose listings misbehave without an error.

Each listing fault of the ``faults`` middleware (entries dropped, entries out of order,
listings that end early, pages lost) is applied over several seeds to a store holding tagged
images, a tagged multi-arch index with untagged children, a signature, shared layers,
untagged manifests and orphans, all older than the grace period. Whatever the fault does:
GC deletes nothing a tag reaches and nothing a clean run would keep (or stops, deleting
nothing); fsck never calls a damaged store whole; migrate never reports a copy complete that
a clean listing shows is not.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.images import Images

from distribution_storage import ListingInconsistentError, StorageDriverError, open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.driver.middleware.faults import FaultInjectingDriver, ListingFaults
from distribution_storage.fsck import fsck
from distribution_storage.gc import GarbageCollectionError, collect_garbage
from distribution_storage.inventory import scan_blobs
from distribution_storage.layout import Digest, blob_data_path
from distribution_storage.migrate import migrate
from distribution_storage.migrate.plan import list_store
from distribution_storage.registry import Registry
from distribution_storage.registry.mediatypes import parse_manifest

FAULTS = {
    "drop": ListingFaults(drop=0.08),
    "reorder": ListingFaults(reorder=0.05),
    "end-early": ListingFaults(end_early=0.5, page=25),
    "lose-page": ListingFaults(lose_page=0.3, page=8),
}
SEEDS = range(6)


def age(root: Path, hours: float = 2) -> None:
    moment = time.time() - hours * 3600
    for path in [root, *root.rglob("*")]:
        os.utime(path, (moment, moment), follow_symlinks=False)


def build_store(root: Path) -> None:
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    images = Images(registry)
    shared = b"a base layer many images share"
    for index in range(6):
        name = f"team{index % 3}/app{index}"
        images.image(name, tag="latest", shared_layer=shared)
        images.image(name, tag="v1")
        images.image(name)  # untagged: garbage under delete_untagged
    children = [images.image("multi/arch", seed=f"arch-{n}") for n in range(3)]
    index_image = images.index("multi/arch", children, tag="v2")
    images.image("multi/arch", subject=index_image)  # a signature of the tagged index
    repo = registry.repository("orphans/only")
    for n in range(4):
        data = f"an orphan blob {n}".encode()
        with repo.uploads.create() as upload:
            upload.write(data)
            upload.commit(Digest.of(data))
    age(root)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "store"
    build_store(root)
    return root


@pytest.fixture
def store(pristine: Path, tmp_path: Path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(pristine, root, symlinks=True)
    return root


def tag_reachable(registry: Registry) -> set[Digest]:
    """Every blob a tag reaches: manifests, their children, configs and layers."""
    reached: set[Digest] = set()
    for name in registry.catalog():
        repo = registry.repository(name)
        stack = [repo.tags.get(tag) for tag in repo.tags.list()]
        while stack:
            digest = stack.pop()
            if digest in reached:
                continue
            reached.add(digest)
            parsed = parse_manifest(registry.driver.get_content(blob_data_path(digest)))
            reached.update(d.digest for d in parsed.blobs)
            stack.extend(d.digest for d in parsed.manifests)
    return reached


def blobs_of(root: Path) -> set[Digest]:
    return set(scan_blobs(open_driver("filesystem", rootdirectory=str(root))))


def faulty(root: Path, faults: ListingFaults, seed: int) -> FaultInjectingDriver:
    inner = open_driver("filesystem", rootdirectory=str(root))
    return FaultInjectingDriver(inner, listing=faults, seed=seed)


@pytest.fixture(scope="module")
def clean_plan(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> set[Digest]:
    """The blobs a clean run deletes, which no faulty run may exceed."""
    root = tmp_path_factory.mktemp("clean") / "store"
    shutil.copytree(pristine, root, symlinks=True)
    report = collect_garbage(
        open_driver("filesystem", rootdirectory=str(root)), delete_untagged=True, dry_run=True
    )
    planned = {Digest.parse(d.digest) for d in report.deletions if d.kind == "blob"}
    assert len(planned) >= 10, "the store must give GC something to delete"
    return planned


@pytest.mark.parametrize("grace_period", [0, 3600], ids=["no-grace", "grace"])
@pytest.mark.parametrize("fault", FAULTS)
def test_gc_under_listing_faults_deletes_nothing_a_tag_reaches(
    fault: str, grace_period: float, pristine: Path, clean_plan: set[Digest], tmp_path: Path
) -> None:
    reachable = tag_reachable(Registry(open_driver("filesystem", rootdirectory=str(pristine))))
    everything = blobs_of(pristine)
    injected = stopped = 0
    for seed in SEEDS:
        root = tmp_path / f"seed{seed}"
        shutil.copytree(pristine, root, symlinks=True)
        driver = faulty(root, FAULTS[fault], seed)
        try:
            collect_garbage(driver, delete_untagged=True, grace_period=grace_period)
        except GarbageCollectionError as exc:
            stopped += 1
            assert "does not add up" in str(exc) or "injected" not in str(exc), exc
            assert blobs_of(root) == everything, f"seed {seed}: GC stopped but deleted"
        injected += driver.listing_faults
        survivors = blobs_of(root)
        assert reachable <= survivors, f"seed {seed}: {len(reachable - survivors)} lost"
        assert everything - survivors <= clean_plan, f"seed {seed}: deleted beyond the plan"
    assert injected > 0, "the fault never fired: the test proved nothing"
    if fault == "reorder":
        assert stopped == len(SEEDS), "an out-of-order listing must stop GC every time"


@pytest.mark.parametrize("fault", FAULTS)
def test_fsck_under_listing_faults_never_calls_a_damaged_store_whole(
    fault: str, store: Path
) -> None:
    registry = Registry(open_driver("filesystem", rootdirectory=str(store)))
    victim = registry.repository("team1/app4")
    manifest = parse_manifest(registry.driver.get_content(blob_data_path(victim.tags.get("v1"))))
    lost_layer = manifest.blobs[-1].digest
    os.unlink(store / f"docker/registry/v2/blobs/sha256/{lost_layer.hex[:2]}/{lost_layer.hex}/data")
    assert not fsck(registry, verify_content=False).whole
    injected = 0
    for seed in SEEDS:
        driver = faulty(store, FAULTS[fault], seed)
        try:
            report = fsck(driver, verify_content=False)
        except ListingInconsistentError:
            continue
        finally:
            injected += driver.listing_faults
        assert not report.whole, f"seed {seed}: a damaged store was called whole"
    assert injected > 0, "the fault never fired: the test proved nothing"


def source_objects(driver: StorageDriver) -> set[str]:
    listing = list_store(driver)
    return {blob_data_path(d) for d in listing.blobs} | set(listing.files)


@pytest.mark.parametrize("side", ["source", "target"])
@pytest.mark.parametrize("fault", FAULTS)
def test_migrate_under_listing_faults_reports_complete_only_when_it_is(
    fault: str, side: str, store: Path, tmp_path: Path
) -> None:
    expected = source_objects(open_driver("filesystem", rootdirectory=str(store)))
    injected = incomplete = 0
    for seed in SEEDS:
        target_root = tmp_path / f"target{seed}"
        source: StorageDriver = open_driver("filesystem", rootdirectory=str(store))
        target: StorageDriver = open_driver("filesystem", rootdirectory=str(target_root))
        faulted = faulty(store if side == "source" else target_root, FAULTS[fault], seed)
        if side == "source":
            source = faulted
        else:
            target = faulted
        try:
            report = migrate(source, target)
        except StorageDriverError as exc:
            assert "does not add up" in str(exc), exc
            incomplete += 1
            continue
        finally:
            injected += faulted.listing_faults
        copied = source_objects(open_driver("filesystem", rootdirectory=str(target_root)))
        if report.verified:
            assert expected <= copied, f"seed {seed}: reported complete, lacks {expected - copied}"
            assert not report.missing
        else:
            incomplete += 1
            assert report.missing and report.incomplete()
    assert injected > 0, "the fault never fired: the test proved nothing"


def test_listing_faults_are_configured_from_config_yml() -> None:
    from distribution_storage.config import open_storage, parse_config

    config = parse_config(
        "storage: inmemory\nmiddleware:\n  storage:\n    - name: faults\n"
        "      options: {listingdrop: 1, listingpage: 5, seed: 3}\n",
        environ={},
    )
    driver = open_storage(config)
    for index in range(10):
        driver.put_content(f"/dir/f{index}", b"x")
    assert driver.list("/dir") == []
    assert list(driver.walk("/dir")) == []


@pytest.mark.parametrize(
    ("faults", "check"),
    [
        (ListingFaults(drop=0.5), lambda got, full: set(got) < set(full)),
        (ListingFaults(reorder=0.5), lambda got, full: sorted(got) == full and got != full),
        (ListingFaults(end_early=1.0, page=10), lambda got, full: got == full[: len(got)] < full),
        (ListingFaults(lose_page=1.0, page=10), lambda got, full: got == full[:10]),
    ],
    ids=["drop", "reorder", "end-early", "lose-page"],
)
def test_each_listing_fault_changes_a_listing_as_described(
    faults: ListingFaults, check: Callable[[list[str], list[str]], bool]
) -> None:
    inner = open_driver("inmemory")
    for index in range(40):
        inner.put_content(f"/dir/f{index:02d}", b"x")
    full = inner.list("/dir")
    driver = FaultInjectingDriver(inner, listing=faults, seed=7)
    got = driver.list("/dir")
    assert check(got, full), got
    assert driver.listing_faults > 0

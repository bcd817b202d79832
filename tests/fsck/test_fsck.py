"""fsck: every kind of damage is found, notes are notes, and the store is never changed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.images import Image, Images
from support.manifests import plant_corrupt_manifest, refused_forms

from distribution_storage import UnsupportedMethodError, open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.driver.middleware.readonly import ReadOnlyDriver
from distribution_storage.fsck import FsckReport, fsck
from distribution_storage.layout import (
    Digest,
    blob_data_path,
    layer_link_path,
    manifest_revision_link_path,
    tag_current_link_path,
)
from distribution_storage.registry import NameUnknownError, Registry


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Registry, Images]:
    root = tmp_path / "store"
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    return root, registry, Images(registry)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def populate(images: Images) -> tuple[Image, Image, Image]:
    image = images.image("app", tag="v1")
    child = images.image("multi")
    index = images.index("multi", [child, images.image("multi")], tag="latest")
    return image, child, index


def damage_kinds(report: FsckReport) -> dict[str, int]:
    return report.kinds("damage")


def test_a_whole_store_is_whole_and_unchanged(store: tuple[Path, Registry, Images]) -> None:
    root, registry, images = store
    populate(images)
    before = snapshot(root)
    report = fsck(registry)
    assert report.whole, report.findings
    assert report.repositories == 2 and report.manifests == 4
    assert report.blobs_verified == report.blobs > 0
    assert snapshot(root) == before


Damage = Callable[[StorageDriver, Image, Image, Image], None]

CASES: dict[str, Damage] = {
    "blob-corrupt": lambda d, img, child, idx: d.put_content(
        blob_data_path(img.blobs[1]), b"flipped bits"
    ),
    "manifest-missing": lambda d, img, child, idx: d.delete(blob_data_path(img.digest)),
    "link-malformed": lambda d, img, child, idx: d.put_content(
        manifest_revision_link_path("app", img.digest), b"sha256:not-hex"
    ),
    "link-mismatch": lambda d, img, child, idx: d.put_content(
        layer_link_path("app", img.blobs[0]), str(img.blobs[1]).encode()
    ),
    "tag-dangling": lambda d, img, child, idx: d.put_content(
        tag_current_link_path("app", "v2"), str(child.digest).encode()
    ),
    "blob-missing": lambda d, img, child, idx: d.delete(blob_data_path(img.blobs[0])),
    "layer-unlinked": lambda d, img, child, idx: d.delete(layer_link_path("app", img.blobs[0])),
    "child-missing": lambda d, img, child, idx: d.delete(
        manifest_revision_link_path("multi", child.digest)
    ),
    "stray-file": lambda d, img, child, idx: d.put_content(
        "/docker/registry/v2/repositories/app/_manifests/notes.txt", b"x"
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_of_damage_is_found(store: tuple[Path, Registry, Images], kind: str) -> None:
    root, registry, images = store
    image, child, index = populate(images)
    CASES[kind](registry.driver, image, child, index)
    before = snapshot(root)
    report = fsck(registry)
    assert not report.whole
    assert kind in damage_kinds(report), report.findings
    found = [f for f in report.damage if f.kind == kind]
    assert all(f.detail for f in found)
    assert snapshot(root) == before


def test_notes_are_not_damage(store: tuple[Path, Registry, Images]) -> None:
    _, registry, images = store
    image, _, _ = populate(images)
    upload = registry.repository("app").uploads.create()
    upload.write(b"half")
    upload.close()
    orphan = b"unreferenced"
    with registry.repository("app").uploads.create() as done:
        done.write(orphan)
        done.commit(done_digest := Digest.of(orphan))
    registry.driver.delete(layer_link_path("app", done_digest))
    registry.repository("app").manifests.delete(image.digest)  # leaves unreferenced blobs
    report = fsck(registry)
    assert report.whole, report.damage
    notes = report.kinds("note")
    assert notes["upload"] == 1
    assert notes["blob-unreferenced"] >= 1
    assert any(f.digest == str(done_digest) for f in report.notes)


def test_a_layer_link_whose_blob_is_gone_is_a_note_as_distributions_gc_leaves_it(
    store: tuple[Path, Registry, Images],
) -> None:
    """distribution's GC deletes a blob and keeps its layer links: the store is still
    whole, the blob answers unknown, and a push restores it."""
    _, registry, images = store
    image, _, _ = populate(images)
    orphan = b"pushed, never used by a manifest"
    repository = registry.repository("app")
    with repository.uploads.create() as upload:
        upload.write(orphan)
        upload.commit(digest := Digest.of(orphan))
    registry.driver.delete(blob_data_path(digest))  # what distribution's sweep does
    report = fsck(registry)
    assert report.whole, report.damage
    assert [(f.kind, f.digest) for f in report.notes if f.kind == "layer-link-dangling"] == [
        ("layer-link-dangling", str(digest))
    ]
    assert not repository.blobs.exists(digest)
    with repository.uploads.create() as upload:
        upload.write(orphan)
        upload.commit(digest)
    assert repository.blobs.exists(digest)
    assert fsck(registry).kinds("note").get("layer-link-dangling") is None
    registry.driver.delete(blob_data_path(image.blobs[0]))  # a layer a tag reaches
    damaged = fsck(registry)
    assert damaged.kinds("damage") == {"blob-missing": 1}
    assert damaged.kinds("note")["layer-link-dangling"] == 1


def test_without_content_verification_nothing_is_hashed(
    store: tuple[Path, Registry, Images],
) -> None:
    _, registry, images = store
    image, _, _ = populate(images)
    registry.driver.put_content(blob_data_path(image.blobs[1]), b"flipped bits")
    report = fsck(registry, verify_content=False)
    assert report.blobs_verified == 0
    assert report.whole


def test_one_repository(store: tuple[Path, Registry, Images]) -> None:
    _, registry, images = store
    _, child, _ = populate(images)
    registry.driver.delete(manifest_revision_link_path("multi", child.digest))
    assert fsck(registry, repository="app").whole
    report = fsck(registry, repository="multi")
    assert "child-missing" in damage_kinds(report)
    assert report.repositories == 1
    with pytest.raises(NameUnknownError):
        fsck(registry, repository="nope")


def test_the_read_only_wrapper_refuses_every_write() -> None:
    driver = ReadOnlyDriver(open_driver("inmemory"))
    for attempt in (
        lambda: driver.put_content("/a", b"x"),
        lambda: driver.writer("/a"),
        lambda: driver.delete("/a"),
        lambda: driver.move("/a", "/b"),
        lambda: driver.delete_many(["/a"]),
        lambda: driver.copy("/a", "/b"),
    ):
        with pytest.raises(UnsupportedMethodError, match="read-only"):
            attempt()


def test_cli_exit_status_and_json(store: tuple[Path, Registry, Images], tmp_path: Path) -> None:
    root, registry, images = store
    image, _, _ = populate(images)
    config = tmp_path / "config.yml"
    config.write_text(f"storage:\n  filesystem:\n    rootdirectory: {root}\n")
    command = [sys.executable, "-m", "distribution_storage.cli", "fsck", str(config)]
    whole = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert whole.returncode == 0, whole.stderr
    assert "whole" in whole.stdout
    registry.driver.put_content(blob_data_path(image.blobs[1]), b"flipped bits")
    damaged = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=120)
    assert damaged.returncode == 3
    body = json.loads(damaged.stdout)
    assert body["whole"] is False
    assert body["damage"] == {"blob-corrupt": 1}
    finding = next(f for f in body["findings"] if f["kind"] == "blob-corrupt")
    assert finding["digest"] == str(image.blobs[1])
    text = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert f"damage: blob-corrupt: {image.blobs[1]}" in text.stdout


@pytest.mark.parametrize("form", list(refused_forms(b'{"layers": [{}]}')))
def test_a_manifest_distribution_cannot_read_is_damage_naming_it(
    store: tuple[Path, Registry, Images], form: str
) -> None:
    root, registry, images = store
    populate(images)
    bad = plant_corrupt_manifest(
        registry, "broken/repo", refused_forms(images.image("broken/repo").payload)[form]
    )
    before = snapshot(root)
    report = fsck(registry)
    invalid = [f for f in report.damage if f.kind == "manifest-invalid"]
    assert [(f.repository, f.digest) for f in invalid] == [("broken/repo", str(bad))]
    assert invalid[0].detail
    assert snapshot(root) == before


@pytest.mark.parametrize("form", ["nan", "utf-8-bom", "nested-100000"])
def test_cli_names_a_manifest_distribution_cannot_read_and_exits_3(
    store: tuple[Path, Registry, Images], tmp_path: Path, form: str
) -> None:
    root, registry, images = store
    populate(images)
    bad = plant_corrupt_manifest(
        registry, "broken/repo", refused_forms(images.image("broken/repo").payload)[form]
    )
    config = tmp_path / "config.yml"
    config.write_text(f"storage:\n  filesystem:\n    rootdirectory: {root}\n")
    command = [sys.executable, "-m", "distribution_storage.cli", "fsck", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert f"damage: manifest-invalid: broken/repo {bad}: " in result.stdout
    assert result.stderr == ""

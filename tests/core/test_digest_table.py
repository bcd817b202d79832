"""One digest object per distinct digest: the table, the inventory and GC's manifest cache."""

from __future__ import annotations

import json

import pytest

from distribution_storage import open_driver
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.gc.mark import ManifestCache
from distribution_storage.inventory import scan_blob_digests, scan_repositories, scan_store
from distribution_storage.layout import (
    Digest,
    DigestTable,
    blob_data_path,
    layer_link_path,
    manifest_revision_link_path,
)

HEX = "a" * 64


def test_a_digest_met_twice_is_one_object() -> None:
    table = DigestTable()
    first = table.get("sha256", HEX)
    assert first == Digest("sha256", HEX)
    assert table.get("sha256", "".join(["a"] * 64)) is first
    assert table.intern(Digest.parse(f"sha256:{HEX}")) is first
    assert len(table) == 1


@pytest.mark.parametrize(
    ("algorithm", "hex_part"),
    [("sha256", "A" * 64), ("sha256", "a" * 63), ("md5", "a" * 32), ("sha512", HEX)],
)
def test_an_invalid_digest_is_none_and_not_kept(algorithm: str, hex_part: str) -> None:
    table = DigestTable()
    assert table.get(algorithm, hex_part) is None
    assert len(table) == 0


def _store() -> tuple[StorageDriver, Digest, Digest]:
    """A layer linked from two repositories and a manifest referencing it."""
    driver = open_driver("inmemory")
    layer = b"layer bytes"
    layer_digest = Digest.of(layer)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": str(layer_digest),
                "size": len(layer),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": str(layer_digest),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    manifest_digest = Digest.of(manifest)
    driver.put_content(blob_data_path(layer_digest), layer)
    driver.put_content(blob_data_path(manifest_digest), manifest)
    for name in ("one", "two"):
        driver.put_content(layer_link_path(name, layer_digest), str(layer_digest).encode())
        driver.put_content(
            manifest_revision_link_path(name, manifest_digest), str(manifest_digest).encode()
        )
    return driver, layer_digest, manifest_digest


def test_an_inventory_names_each_digest_with_one_object() -> None:
    driver, layer, manifest = _store()
    inventory = scan_store(driver)
    [stored_layer] = [digest for digest in inventory.blobs if digest == layer]
    [stored_manifest] = [digest for digest in inventory.blobs if digest == manifest]
    for repository in inventory.repositories.values():
        [linked] = repository.layers
        [revision] = repository.revisions
        assert linked is stored_layer
        assert revision is stored_manifest


def test_gc_manifest_references_are_the_inventorys_objects() -> None:
    driver, layer, _ = _store()
    digests = DigestTable()
    blobs = scan_blob_digests(driver, digests=digests)
    repositories = scan_repositories(driver, digests=digests)
    [stored_layer] = [digest for digest in blobs if digest == layer]
    refs = ManifestCache(driver, blobs, digests).get(
        repositories["one"].revisions.popitem()[0], "one"
    )
    assert refs is not None
    assert refs.blobs and all(digest is stored_layer for digest in refs.blobs)

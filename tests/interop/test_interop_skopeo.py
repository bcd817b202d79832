"""skopeo pushes multi-layer images and multi-arch indexes into the example server and back."""

from __future__ import annotations

import json
from pathlib import Path

from oci_images import Layout, image, multi_arch, read_layout
from support.interop import ServerFactory, pull, push

from distribution_storage import open_driver
from distribution_storage.layout import Digest
from distribution_storage.registry import Registry
from distribution_storage.registry.mediatypes import DOCKER_SCHEMA2, OCI_INDEX, OCI_MANIFEST
from distribution_storage.registry.purge import iter_uploads


def _source(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "src")
    layout.tag("v1", image(layout, "one", layers=4))
    layout.tag("multi", multi_arch(layout, "many", ("amd64", "arm64", "s390x")))
    layout.write()
    return layout


def test_round_trip_keeps_every_manifest_and_blob(
    tmp_path: Path, example_server: ServerFactory
) -> None:
    source = _source(tmp_path)
    store = tmp_path / "store"
    address = example_server(store)
    push(source.root, "v1", address, "apps/one:v1")
    push(source.root, "multi", address, "apps/many:latest", "--preserve-digests")
    push(source.root, "multi", address, "apps/one:multi", "--preserve-digests")

    back = tmp_path / "back"
    pull(address, "apps/one:v1", back, "v1")
    pull(address, "apps/many:latest", back, "multi")
    tags, blobs = read_layout(back)
    src_tags, src_blobs = read_layout(source.root)
    assert tags == src_tags
    assert blobs == src_blobs

    registry = Registry(open_driver("filesystem", rootdirectory=str(store)))
    assert registry.catalog() == ["apps/many", "apps/one"]
    one = registry.repository("apps/one")
    assert one.tags.list() == ["multi", "v1"]
    index = one.manifests.get(Digest.parse(src_tags["multi"]))
    assert index.media_type == OCI_INDEX
    assert len(index.references) == 3
    for child in index.references:
        assert one.manifests.get(child.digest).media_type == OCI_MANIFEST
    assert {b.digest for b in registry.blobs} == {Digest.parse(d) for d in src_blobs}
    assert list(iter_uploads(registry.driver)) == []


def test_push_converted_to_docker_schema2(tmp_path: Path, example_server: ServerFactory) -> None:
    source = _source(tmp_path)
    store = tmp_path / "store"
    address = example_server(store)
    push(source.root, "v1", address, "docker/img:v2s2", "--format", "v2s2")
    registry = Registry(open_driver("filesystem", rootdirectory=str(store)))
    repo = registry.repository("docker/img")
    manifest = repo.manifests.get(repo.tags.get("v2s2"))
    assert manifest.media_type == DOCKER_SCHEMA2
    assert json.loads(manifest.payload)["mediaType"] == DOCKER_SCHEMA2
    back = tmp_path / "back"
    pull(address, "docker/img:v2s2", back, "v2s2")
    _, blobs = read_layout(back)
    _, src_blobs = read_layout(source.root)
    layers = [d.digest for d in manifest.parsed.blobs[1:]]
    assert all(blobs[str(d)] == src_blobs[str(d)] for d in layers)

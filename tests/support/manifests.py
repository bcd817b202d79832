"""Helpers of the registry-layer tests: push blobs and build manifests."""

from __future__ import annotations

import json
from typing import Any

from distribution_storage.layout import Digest
from distribution_storage.registry import Repository
from distribution_storage.registry.mediatypes import (
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA2,
    OCI_INDEX,
    OCI_MANIFEST,
)

CONFIG_TYPES = {
    OCI_MANIFEST: "application/vnd.oci.image.config.v1+json",
    DOCKER_SCHEMA2: "application/vnd.docker.container.image.v1+json",
}
LAYER_TYPES = {
    OCI_MANIFEST: "application/vnd.oci.image.layer.v1.tar+gzip",
    DOCKER_SCHEMA2: "application/vnd.docker.image.rootfs.diff.tar.gzip",
}


def push_blob(repo: Repository, data: bytes) -> Digest:
    """Upload ``data`` in one go and return its digest."""
    digest = Digest.of(data)
    with repo.uploads.create() as upload:
        upload.write(data)
        upload.commit(digest, size=len(data))
    return digest


def descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    """An OCI descriptor of ``data``."""
    return {"mediaType": media_type, "digest": str(Digest.of(data)), "size": len(data)}


def image_manifest(
    repo: Repository,
    *,
    media_type: str = OCI_MANIFEST,
    layers: int = 2,
    seed: str = "x",
    push: bool = True,
    subject: dict[str, Any] | None = None,
    artifact_type: str | None = None,
) -> bytes:
    """The bytes of an image manifest whose config and layers are pushed into ``repo``."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    blobs = [f"layer {i} of {seed}".encode() * 100 for i in range(layers)]
    if push:
        for data in [config, *blobs]:
            push_blob(repo, data)
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": descriptor(CONFIG_TYPES[media_type], config),
        "layers": [descriptor(LAYER_TYPES[media_type], data) for data in blobs],
    }
    if subject is not None:
        doc["subject"] = subject
    if artifact_type is not None:
        doc["artifactType"] = artifact_type
    return json.dumps(doc, indent=3).encode()


def index_manifest(children: list[bytes], *, media_type: str = OCI_INDEX) -> bytes:
    """The bytes of an index (or manifest list) of ``children``."""
    child_type = OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_SCHEMA2
    assert media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST)
    entries = []
    for i, child in enumerate(children):
        entry = descriptor(child_type, child)
        entry["platform"] = {"architecture": f"arch{i}", "os": "linux"}
        entries.append(entry)
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}).encode()

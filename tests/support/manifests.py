"""Helpers of the registry-layer tests: push blobs and build manifests."""

from __future__ import annotations

import codecs
import json
from typing import Any

from distribution_storage.layout import Digest, manifest_revision_link_path
from distribution_storage.registry import Registry, Repository
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


def plant_corrupt_manifest(registry: Registry, name: str, payload: bytes) -> Digest:
    """A revision whose blob is ``payload``, written past the registry's checks, as a damaged
    store (or one a laxer registry wrote) has."""
    repo = registry.repository(name)
    digest = Digest.of(payload)
    with repo.uploads.create() as upload:
        upload.write(payload)
        upload.commit(digest)
    registry.driver.put_content(manifest_revision_link_path(name, digest), str(digest).encode())
    return digest


def refused_forms(payload: bytes) -> dict[str, bytes]:
    """The image manifest ``payload`` made into each form a registry must refuse, keyed by a
    name for test ids: every one but ``nested-1000`` is one distribution 2.8.2 cannot read
    (checked against Debian's docker-registry: it refuses each at put; on one already in a
    store it answers 500 and its GC stops); ``nested-1000`` is under Go's nesting limit of
    10,000 but over ``MAX_MANIFEST_DEPTH``."""
    doc = json.loads(payload)
    text = json.dumps(doc)

    def plus(member: str) -> bytes:
        return f"{text[:-1]}, {member}}}".encode()

    oversized = {**doc, "layers": [{**doc["layers"][0], "size": 2**63}, *doc["layers"][1:]]}
    platform = {**doc["layers"][0], "platform": {"architecture": 64, "os": "linux"}}
    return {
        "utf-16": text.encode("utf-16"),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-8-bom": codecs.BOM_UTF8 + text.encode(),
        "nan": plus('"annotations": {"a": NaN}'),
        "infinity": plus('"annotations": {"a": Infinity}'),
        "-infinity": plus('"annotations": {"a": -Infinity}'),
        "size-over-int64": json.dumps(oversized).encode(),
        "schema-version-float": text.replace('"schemaVersion": 2', '"schemaVersion": 2.0').encode(),
        "annotation-number": plus('"annotations": {"a": 1}'),
        "platform-number": json.dumps({**doc, "layers": [platform]}).encode(),
        "nested-1000": plus('"x": ' + "[" * 1000 + "]" * 1000),
        "nested-100000": plus('"x": ' + "[" * 100_000 + "]" * 100_000),
    }

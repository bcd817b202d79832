"""Helpers of the GC tests: push images, indexes and referrers through the registry layer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from distribution_storage.layout import Digest
from distribution_storage.registry import Registry, Repository
from distribution_storage.registry.mediatypes import OCI_INDEX, OCI_MANIFEST
from support.manifests import descriptor, image_manifest, index_manifest, push_blob


@dataclass(frozen=True)
class Image:
    """A pushed manifest: its digest, bytes, and the blobs it references directly."""

    repository: str
    digest: Digest
    payload: bytes
    blobs: tuple[Digest, ...]

    def descriptor(self, media_type: str = OCI_MANIFEST) -> dict[str, Any]:
        return descriptor(media_type, self.payload)


class Images:
    """Pushes images, indexes and referrers through the registry layer."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._count = 0

    def repo(self, name: str) -> Repository:
        return self.registry.repository(name)

    def image(
        self,
        name: str,
        *,
        tag: str | None = None,
        seed: str | None = None,
        layers: int = 2,
        subject: Image | None = None,
        shared_layer: bytes | None = None,
    ) -> Image:
        self._count += 1
        repo = self.repo(name)
        payload = image_manifest(
            repo,
            seed=seed or f"image-{self._count}",
            layers=layers,
            subject=subject.descriptor() if subject else None,
            artifact_type="application/example.signature" if subject else None,
        )
        doc = json.loads(payload)
        if shared_layer is not None:
            push_blob(repo, shared_layer)
            doc["layers"].append(descriptor("application/vnd.oci.image.layer.v1.tar", shared_layer))
            payload = json.dumps(doc).encode()
        manifest = repo.manifests.put(payload, tag=tag)
        blobs = [Digest.parse(doc["config"]["digest"])]
        blobs += [Digest.parse(layer["digest"]) for layer in doc["layers"]]
        return Image(name, manifest.digest, payload, tuple(blobs))

    def index(self, name: str, children: list[Image], *, tag: str | None = None) -> Image:
        payload = index_manifest([child.payload for child in children], media_type=OCI_INDEX)
        manifest = self.repo(name).manifests.put(payload, tag=tag)
        return Image(name, manifest.digest, payload, ())

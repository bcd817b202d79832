"""A sample store to show the tools on: a multi-arch image, a signature, and some garbage.

``distribution-storage demo`` (what ``./dev run`` runs) fills a filesystem store with it
through the registry layer -- the same API a Python registry embeds -- and then collects its
garbage, so a newcomer sees the layout, the GC report and what survives in one command.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from distribution_storage.layout import Digest
from distribution_storage.registry import Registry, Repository
from distribution_storage.registry.mediatypes import OCI_INDEX, OCI_MANIFEST

CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class SampleStore:
    """What :func:`populate` pushed: the digests worth looking for afterwards."""

    repository: str
    index: Digest
    children: tuple[Digest, ...]
    signature: Digest
    untagged: Digest
    orphan: Digest


def _push(repo: Repository, data: bytes) -> dict[str, Any]:
    digest = Digest.of(data)
    with repo.uploads.create() as upload:
        upload.write(data)
        upload.commit(digest, size=len(data))
    return {"digest": str(digest), "size": len(data)}


def _image(repo: Repository, arch: str, *, subject: dict[str, Any] | None = None) -> bytes:
    config = json.dumps({"architecture": arch, "os": "linux"}).encode()
    layer = secrets.token_bytes(4096)
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": CONFIG_TYPE, **_push(repo, config)},
        "layers": [{"mediaType": LAYER_TYPE, **_push(repo, layer)}],
    }
    if subject is not None:
        doc["subject"] = subject
        doc["artifactType"] = "application/vnd.example.signature"
    return json.dumps(doc).encode()


def populate(registry: Registry, repository: str = "demo/app") -> SampleStore:
    """Push a tagged two-arch index, a signature of it, an untagged image and an orphan."""
    repo = registry.repository(repository)
    children = []
    entries = []
    for arch in ("amd64", "arm64"):
        manifest = repo.manifests.put(_image(repo, arch))  # untagged until the index lands
        children.append(manifest.digest)
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": str(manifest.digest),
                "size": len(manifest.payload),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    index_doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    index = repo.manifests.put(json.dumps(index_doc).encode(), tag="latest")
    subject = {"mediaType": OCI_INDEX, "digest": str(index.digest), "size": len(index.payload)}
    signature = repo.manifests.put(_image(repo, "none", subject=subject))
    untagged = repo.manifests.put(_image(repo, "amd64"))
    orphan = Digest.parse(_push(repo, secrets.token_bytes(2048))["digest"])
    return SampleStore(
        repository, index.digest, tuple(children), signature.digest, untagged.digest, orphan
    )
